#!/usr/bin/env node
import { main } from '../lib/commands/main.js';

process.exitCode = await main(process.argv);
