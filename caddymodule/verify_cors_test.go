package caddymodule

import "testing"

func TestIsLoopbackOrigin(t *testing.T) {
	for o, want := range map[string]bool{
		"http://localhost:6274":       true,
		"http://127.0.0.1:6274":       true,
		"http://[::1]:6274":           true,
		"https://localhost":           true,
		"http://localhost":            true,
		"http://localhost.evil.test":  false,
		"http://127.0.0.1.evil.test":  false,
		"http://localhost:6274@evil":  false,
		"http://localhost:":           false,
		"http://localhost:12a":        false,
		"http://127.0.0.2:80":         false,
		"http://[::1]x:80":            false,
		"null":                        false,
		"https://evil.example":        false,
		"ws://localhost:6274":         false,
		"http://localhost:6274/path":  false,
		"http://LOCALHOST:6274":       false, // browsers send lowercase hosts
		"http://[::ffff:127.0.0.1]:1": false,
	} {
		if got := isLoopbackOrigin(o); got != want {
			t.Errorf("isLoopbackOrigin(%q) = %v, want %v", o, got, want)
		}
	}
}

func TestIsIdentityHeader(t *testing.T) {
	h := &VerifyHandler{stripped: append([]string{"x-user-id", "x-user-name"}, spoofableHeaders...)}
	for name, want := range map[string]bool{
		"X-User-Id": true, "x_user_id": true, "X-Auth-Token": true, "x-auth-token": true, "X_Auth_Token": true,
		"X-Forwarded-User": true, "X-Forwarded-Email": true, "Remote-User": true, "Remote_User": true,
		"X-Remote-User": true, "X-Auth-Request-User": true, "X-Auth-Request-Email": true, "x_auth_request_groups": true,
		"X-Auth-Request-": true, "X-Forwarded-For": false, "X-Forwarded-Host": false, "Content-Type": false,
		"X-Auth": false, "X-User": false, "Mcp-Session-Id": false,
	} {
		if got := h.isIdentityHeader(name); got != want {
			t.Errorf("isIdentityHeader(%q) = %v, want %v", name, got, want)
		}
	}
}
