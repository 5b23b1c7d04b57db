/**
 * The FAQ knowledge base a fresh install starts with: the company FAQs from the original design
 * (facts copied verbatim) and a few about using SmartSupport itself. Applied by the migration
 * 20261125050100_chat_faqs (so every install has them) and again by `smartsupport seed`.
 * Each entry has a stable `seed_key`: seeding inserts missing keys and never overwrites an
 * entry an admin has edited.
 */
import type { Knex } from 'knex';

export interface FaqSeed {
  seed_key: string;
  question: string;
  answer: string;
  tags: string[];
}

export const FAQ_SEED: readonly FaqSeed[] = [
  {
    seed_key: 'company-ceo',
    question: 'Who is the CEO of MAP Active Philippines?',
    answer: 'Elizabeth Marcelo Tinio is the CEO of MAP Active Philippines.',
    tags: ['company', 'ceo', 'leadership', 'head', 'president', 'boss'],
  },
  {
    seed_key: 'company-location',
    question: 'Where is MAP ACTIVE PHILIPPINES INC. located?',
    answer:
      'MAP ACTIVE PHILIPPINES INC. is located at 19th, 20th and 21st Floors 1 Proscenium Estrella Drive corner JP Rizal Street, Rockwell Center, Makati, Metro Manila, 1211 Philippines',
    tags: ['company', 'office', 'location', 'address', 'headquarters'],
  },
  {
    seed_key: 'company-services',
    question: 'What services does Map Active Philippines offer?',
    answer:
      'Map Active Philippines offers Recruitment Process Outsourcing (RPO), HR Consulting, Talent Acquisition, Executive Search, and HR Technology Solutions.',
    tags: ['company', 'services', 'business', 'offerings'],
  },
  {
    seed_key: 'smartsupport-file-ticket',
    question: 'How do I file a support ticket in SmartSupport?',
    answer:
      'Create a ticket with a subject, category, sub-category and description (POST /api/tickets/, or the `smartsupport tickets` commands); you can attach files. The ticket starts as New and a Ticket Coordinator reviews it. You can also turn a chatbot conversation into a ticket with `smartsupport chat escalate <conversation id>`.',
    tags: ['smartsupport', 'ticket', 'create', 'submit', 'request', 'issue', 'problem'],
  },
  {
    seed_key: 'smartsupport-reset-password',
    question: 'How do I reset my SmartSupport password?',
    answer:
      'Request a reset with your work email (POST /api/employee/forgot-password/). You will receive an email with a single-use link valid for one hour; follow it to choose a new password. If you still know your current password, change it with POST /api/employee/change-password/.',
    tags: ['smartsupport', 'password', 'reset', 'forgot', 'login', 'account'],
  },
  {
    seed_key: 'smartsupport-ticket-status',
    question: 'How can I check the status of my ticket?',
    answer:
      'List your tickets and their status (GET /api/tickets/, or the `smartsupport tickets` commands); one ticket (e.g. GET /api/tickets/TX0001/) shows its comments and history. You also receive an email whenever the status of your ticket changes.',
    tags: ['smartsupport', 'ticket', 'status', 'progress', 'track'],
  },
  {
    seed_key: 'smartsupport-account-approval',
    question: 'Why can I not sign in after registering?',
    answer:
      'New accounts must be approved by a System Admin before you can sign in. You receive an email when your account is approved (or rejected). If it takes too long, contact the IT Department.',
    tags: ['smartsupport', 'account', 'registration', 'register', 'approval', 'pending', 'login', 'log', 'sign'],
  },
];

/** Insert the seed entries that are missing (by seed_key). Returns how many were inserted. */
export async function ensureFaqSeed(db: Knex): Promise<number> {
  const rows = await db('faqs')
    .insert(FAQ_SEED.map((f) => ({ seed_key: f.seed_key, question: f.question, answer: f.answer, tags: f.tags })))
    .onConflict('seed_key')
    .ignore()
    .returning('id');
  return rows.length;
}
