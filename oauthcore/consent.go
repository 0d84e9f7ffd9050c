package oauthcore

import (
	"crypto/subtle"
	"net/http"
)

// consentEndpoint is the consent form's target, /consent: CSRF-checked,
// the flow consumed once, the client and redirect URI validated again
// against the current registration (never trusted from the form, RU-08).
type consentEndpoint struct {
	*browserFlows
}

func (ce *consentEndpoint) serve(w http.ResponseWriter, r *http.Request) {
	if !allowMethods(w, r, http.MethodPost) {
		return
	}
	if !ce.postedFromOwnPage(r) {
		ce.errorPage(w, r, "consent", "", NewError(http.StatusForbidden, CodeAccessDenied, "cross-site request refused"))
		return
	}
	p, err := parsePostForm(w, r)
	if err != nil {
		ce.errorPage(w, r, "consent", "", err)
		return
	}
	f, err := ce.takeFlow(r, p)
	if err != nil {
		ce.errorPage(w, r, "consent", "", err)
		return
	}
	req := &f.Request
	if _, err := ce.revalidate(r, req); err != nil {
		ce.errorPage(w, r, "consent", req.ClientID, err)
		return
	}
	if p.get("action") != "approve" {
		ce.log.InfoContext(r.Context(), "consent denied", "step", "consent", "client_id", req.ClientID)
		ce.metrics.Authorization(AuthzConsentDenied)
		ce.redirectError(w, r, http.StatusSeeOther, "consent", req, NewError(400, CodeAccessDenied, "the user denied the request"))
		return
	}
	ce.metrics.Authorization(AuthzConsentApproved)
	ce.startUpstream(w, r, http.StatusSeeOther, req)
}

// takeFlow checks the form's CSRF token against the cookie and the flow,
// then consumes the flow.
func (ce *consentEndpoint) takeFlow(r *http.Request, p params) (*Flow, error) {
	forbidden := NewError(http.StatusForbidden, CodeAccessDenied, "the consent form is invalid or expired; start again")
	csrf, cookie := p.get("csrf"), ce.cookie(r, "csrf")
	if csrf == "" || cookie == "" || subtle.ConstantTimeCompare([]byte(csrf), []byte(cookie)) != 1 {
		return nil, forbidden
	}
	return ce.takeBound(r.Context(), HashSecret(p.get("flow")), csrf, func(f *Flow) string { return f.CSRFHash }, forbidden)
}

// postedFromOwnPage refuses cross-site form posts: browsers send Origin
// (and Sec-Fetch-Site) on POST, and ours must be the issuer. Our pages send
// no referrer, so a browser posting their form says "Origin: null"; that
// is accepted only when the browser also vouches that the post came from
// our own origin. The CSRF token is checked besides.
func (ce *consentEndpoint) postedFromOwnPage(r *http.Request) bool {
	site := r.Header.Get("Sec-Fetch-Site")
	if site != "" && site != "same-origin" && site != "none" {
		return false
	}
	switch o := r.Header.Get("Origin"); o {
	case "", ce.cfg.Issuer:
		return true
	case "null":
		return site == "same-origin"
	}
	return false
}
