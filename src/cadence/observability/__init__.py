"""Every failure is logged: request ids, the request's context in every log line, text or JSON
log lines on stderr, failed tasks with their arguments, and optional reporting to Sentry."""
