import type { Logger } from 'pino';

/** One email to one person. */
export interface Mail {
  readonly to: string;
  readonly subject: string;
  readonly text: string;
}

/** The email port: how a person's own links (password resets) reach them, never the caller of a request. */
export interface Mailer {
  readonly kind: 'log';
  send(mail: Mail): Promise<void>;
}

/**
 * The only adapter today, as the messaging port's `log` mode: the email is written to the service log.
 * With `reveal` (development: PUBLIC_BASE_URL is not https) the whole text, link included, is the local
 * outbox; otherwise only who and what is logged, never the link (a log is no mailbox: whoever reads logs
 * must not get into accounts), and the person asks an operator (`callsnare member reset-link`).
 */
export function logMailer(log: Logger, options: { reveal: boolean }): Mailer {
  return {
    kind: 'log',
    async send(mail) {
      if (options.reveal) log.info({ event: 'email', to: mail.to, subject: mail.subject, text: mail.text }, 'email (log mode)');
      else
        log.warn(
          { event: 'email_not_delivered', to: mail.to, subject: mail.subject },
          'email not delivered: no mail provider in this deployment (log mode hides links over https); an operator can run callsnare member reset-link',
        );
    },
  };
}
