/**
 * Every capability of the app, in one list. A feature contributes route handlers (bound to
 * openapi.yaml operationIds), job workers, cron schedules and start-up work.
 */
import { authFeature } from '../features/auth/auth-routes.js';
import { chatFeature } from '../features/chat/chat-routes.js';
import { announcementsFeature } from '../features/announcements/announcements-routes.js';
import { emailFeature } from '../features/email/email-routes.js';
import { employeesFeature } from '../features/employees/employee-routes.js';
import { eventsFeature } from '../features/events/events-routes.js';
import { filesFeature } from '../features/files/files-routes.js';
import { jobsFeature } from '../features/jobs/jobs-routes.js';
import { notificationsFeature } from '../features/notifications/notifications-routes.js';
import { opsFeature } from '../features/ops/ops-routes.js';
import { slaFeature } from '../features/sla/sla-routes.js';
import { reportsFeature } from '../features/reports/reports-routes.js';
import { ticketsFeature } from '../features/tickets/ticket-routes.js';
import { workflowFeature } from '../features/workflow/workflow-routes.js';
import type { Feature } from './feature.js';

export const features: Feature[] = [
  opsFeature,
  authFeature,
  employeesFeature,
  ticketsFeature,
  filesFeature,
  notificationsFeature,
  workflowFeature,
  jobsFeature,
  chatFeature,
  slaFeature,
  emailFeature,
  announcementsFeature,
  reportsFeature,
  eventsFeature,
];
