import type { QmpMessage } from '../framing.js';
import type { QmpGreeting } from '../qapi/types.js';
import { MalformedMessageError, NotQmpServerError, OversizedMessageError, type QmpError } from '../errors.js';

/**
 * Until the greeting, only a small message is accepted: QEMU's greeting is ~200 bytes, and a peer
 * that is not QMP (100 MB of anything) must not be buffered up to the 64 MiB message limit.
 */
export const GREETING_LIMIT_BYTES = 64 * 1024;

/** Whether `message` is a well-formed greeting: {"QMP": {"version": {…}, "capabilities": […]}}. */
export function isGreeting(message: QmpMessage): message is QmpMessage & QmpGreeting {
  const qmp = message.QMP as { version?: unknown; capabilities?: unknown } | null;
  return qmp !== null && typeof qmp === 'object' && typeof qmp.version === 'object' && qmp.version !== null && Array.isArray(qmp.capabilities);
}

/** What a framing error before the greeting means: the peer is not a QMP monitor. */
export function beforeGreeting(error: QmpError): QmpError {
  if (error instanceof MalformedMessageError) return new NotQmpServerError(`'${error.text}'`, { cause: error });
  if (error instanceof OversizedMessageError) return new NotQmpServerError(`more than ${error.limit} bytes without a QMP greeting`, { cause: error });
  return error;
}

/** A first message that is neither the greeting nor an event (events may come before it). */
export function unexpectedFirstMessage(message: QmpMessage): NotQmpServerError {
  const text = JSON.stringify(message);
  return new NotQmpServerError(`${text.length > 200 ? `${text.slice(0, 200)}…` : text} where the QMP greeting should be`);
}
