import { z } from 'zod';
import { bookingSource, e164, instant, timeWindow, timeZone, uuid } from '../values.ts';

const address = z
  .object({
    line1: z.string().min(1).max(200),
    line2: z.string().max(200).optional(),
    city: z.string().min(1).max(100),
    region: z.string().min(1).max(100),
    postalCode: z.string().min(1).max(20),
  })
  .strict();

/** The booked customer. */
export const customer = z
  .object({
    name: z.string().trim().min(1).max(200),
    phone: e164,
    email: z.email().max(254).optional(),
    address: address.optional(),
  })
  .strict();

/** What the visit is for. */
export const service = z.object({ type: z.string().min(1).max(100), summary: z.string().max(1000).optional() }).strict();

/** Booking stream events, version 1 each. */
export const bookingEvents = {
  BookingCreated: z
    .object({
      bookingId: uuid,
      orgId: uuid,
      window: timeWindow,
      timezone: timeZone,
      customer,
      service: service.optional(),
      notes: z.string().max(5000).optional(),
      leadId: uuid.optional(),
      externalRef: z.string().max(200).optional(),
      source: bookingSource,
      /** The org's reminder offsets when the booking was made; reminders due in the past are not planned. */
      reminderOffsetsMinutes: z.array(z.number().int().positive()),
    })
    .strict(),
  BookingRescheduled: z
    .object({
      bookingId: uuid,
      previousWindow: timeWindow,
      window: timeWindow,
      reason: z.string().max(1000).optional(),
      reminderOffsetsMinutes: z.array(z.number().int().positive()),
    })
    .strict(),
  BookingCanceled: z.object({ bookingId: uuid, reason: z.string().max(1000).optional(), canceledAt: instant }).strict(),
  ConfirmationSent: z.object({ bookingId: uuid, messageId: z.string(), to: e164, sentAt: instant }).strict(),
  ConfirmationSkipped: z.object({ bookingId: uuid, reason: z.string() }).strict(),
  ConfirmationFailed: z.object({ bookingId: uuid, error: z.string() }).strict(),
  ReminderSent: z
    .object({
      bookingId: uuid,
      offsetMinutes: z.number().int().positive(),
      dueAt: instant,
      messageId: z.string(),
      to: e164,
      sentAt: instant,
    })
    .strict(),
  ReminderSkipped: z.object({ bookingId: uuid, offsetMinutes: z.number().int().positive(), dueAt: instant, reason: z.string() }).strict(),
  ReminderFailed: z.object({ bookingId: uuid, offsetMinutes: z.number().int().positive(), dueAt: instant, error: z.string() }).strict(),
  /** A text about the booking was due inside quiet hours (the org's or the recipient's): put off to `until`, never dropped. */
  BookingTextDeferred: z
    .object({
      bookingId: uuid,
      kind: z.enum(['confirmation', 'reminder', 'rescheduled_notice', 'canceled_notice']),
      until: instant,
      reason: z.string().max(500),
    })
    .strict(),
  /** "Your visit moved" / "your visit was canceled" messages. */
  BookingNoticeSent: z
    .object({ bookingId: uuid, kind: z.enum(['rescheduled', 'canceled']), messageId: z.string(), to: e164, sentAt: instant })
    .strict(),
} as const;
