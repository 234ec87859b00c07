import { Global, Module } from '@nestjs/common';
import { DatabaseModule } from './database.module';
import { PrismaService } from './prisma.service';

@Global()
@Module({ imports: [DatabaseModule], providers: [PrismaService], exports: [PrismaService, DatabaseModule] })
export class PrismaModule {}
