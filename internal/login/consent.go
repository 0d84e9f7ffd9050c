package login

import (
	"errors"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
)

// Consent is what the consent page's form carries besides the button: the
// flow handle and the CSRF token.
type Consent struct {
	Flow string
	CSRF string
}

var hiddenInput = regexp.MustCompile(`<input type="hidden" name="(flow|csrf)" value="([^"]*)">`)

// ParseConsent reads the hidden inputs of the consent page. r must be the
// page: 200 with a form that posts to /consent and carries both inputs.
func ParseConsent(r *Reply) (Consent, error) {
	var c Consent
	if r.Status != http.StatusOK || !strings.Contains(r.Body, `action="/consent"`) {
		return c, fmt.Errorf("want the consent page, got %s", r)
	}
	for _, m := range hiddenInput.FindAllStringSubmatch(r.Body, -1) {
		v := html.UnescapeString(m[2])
		if m[1] == "flow" {
			c.Flow = v
		} else {
			c.CSRF = v
		}
	}
	if c.Flow == "" || c.CSRF == "" {
		return c, errors.New("consent page without flow or csrf inputs:\n" + r.Body)
	}
	return c, nil
}

// ConsentRequest is the consent form's POST to issuer/consent with the
// button action ("approve" or "deny"), as Chromium sends it: the page sends
// no referrer, so the same-origin POST says "Origin: null" and
// "Sec-Fetch-Site: same-origin".
func ConsentRequest(issuer string, c Consent, action string) *http.Request {
	form := url.Values{"flow": {c.Flow}, "csrf": {c.CSRF}, "action": {action}}
	req, err := http.NewRequest(http.MethodPost, issuer+"/consent", strings.NewReader(form.Encode()))
	if err != nil {
		panic(err) // issuer is not a URL: a bug of the caller
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", "null")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	return req
}
