/**
 * Job keys. One key names one outbound message: it is the graphile-worker `job_key` (so adding it again
 * replaces the pending job instead of queueing a second one), the `outbound_messages` key (so a retried
 * send returns the message already sent) and the seed of the evidence event's id (so a retried job never
 * records twice). Everything that makes the message distinct is in the key: a reminder's due instant, a
 * reschedule's stream revision.
 */
export const jobKeys = {
  confirmation: (bookingId: string) => `confirmation:${bookingId}`,
  reminder: (bookingId: string, offsetMinutes: number, dueAt: string) => `reminder:${bookingId}:${offsetMinutes}:${dueAt}`,
  rescheduledNotice: (bookingId: string, revision: number) => `notice:${bookingId}:rescheduled:${revision}`,
  canceledNotice: (bookingId: string) => `notice:${bookingId}:canceled`,
  textBack: (leadId: string, callSid: string) => `text-back:${leadId}:${callSid}`,
  reply: (leadId: string, messageId: string) => `reply:${leadId}:${messageId}`,
  /** The first-response check of a lead (CONTRACT §10): one per lead. */
  responseDue: (leadId: string) => `response-due:${leadId}`,
  /** The on-call alert about one new call or text (CONTRACT §10); each phone's text is `<key>:<phone>`. */
  staffAlert: (leadId: string, eventId: string) => `staff-alert:${leadId}:${eventId}`,
  staffAlertText: (alertKey: string, phone: string) => `${alertKey}:${phone}`,
  /** The round-robin assignment of a new lead: one per lead. */
  autoAssign: (leadId: string) => `auto-assign:${leadId}`,
} as const;
