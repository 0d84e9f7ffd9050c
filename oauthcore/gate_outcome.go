package oauthcore

import "errors"

// GateOutcome names a gate decision for metrics: ok, no_token,
// invalid_request, invalid_token, insufficient_scope, an outage's code
// (temporarily_unavailable), or refused for any other refusal. err is what
// Gate.Check returned.
func GateOutcome(err error) string {
	var oe *Error
	switch {
	case err == nil:
		return "ok"
	case errors.Is(err, errNoToken):
		return "no_token"
	case errors.Is(err, errQueryToken), errors.Is(err, errDotPath):
		return string(CodeInvalidRequest)
	case errors.Is(err, errScope):
		return string(CodeInsufficientScope)
	case errors.Is(err, ErrInvalidToken), errors.Is(err, errWrongAudience):
		return string(CodeInvalidToken)
	case errors.As(err, &oe) && oe.Code != CodeNone:
		return string(oe.Code)
	}
	return "refused"
}
