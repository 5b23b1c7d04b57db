/**
 * Every capability of the app, in one list. A feature contributes route handlers (bound to
 * openapi.yaml operationIds), job workers, cron schedules and start-up work.
 */
import { filesFeature } from '../features/files/files-routes.js';
import { opsFeature } from '../features/ops/ops-routes.js';
import type { Feature } from './feature.js';

export const features: Feature[] = [
  opsFeature,
  filesFeature,
];
