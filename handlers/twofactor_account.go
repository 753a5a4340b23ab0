package handlers

// Two-factor enrolment on the account page (docs/guide.md "Two-factor"):
// start (a fresh secret, sealed like bot tokens, pending until
// confirmed), the page with the QR code and the key, confirm with a code
// (then the ten recovery codes are shown once), and turn off with the
// password and a code.

import (
	"context"
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/botdesk/botdesk/models"
	"github.com/botdesk/botdesk/store"
	"github.com/botdesk/botdesk/twofactor"
	"github.com/botdesk/botdesk/views"
)

// twoFactorSetup shows the enrolment: a start button, or the QR code and
// key of the pending secret with the confirmation form.
func (s *Server) twoFactorSetup(c echo.Context) error {
	return s.renderTwoFactorSetup(c, http.StatusOK, nil)
}

func (s *Server) renderTwoFactorSetup(c echo.Context, status int, errs views.FieldErrors) error {
	ctx := c.Request().Context()
	u, err := s.Store.UserByID(ctx, currentUser(c).ID)
	if err != nil {
		return err
	}
	if u.TOTPEnabled {
		setFlash(c, "info", tr(c, "Two-factor sign-in is already on."))
		return c.Redirect(http.StatusSeeOther, "/account")
	}
	v := views.TwoFactorSetupView{Errors: errs}
	v.Required, err = s.twoFactorRequired(ctx, u)
	if err != nil {
		return err
	}
	if len(u.TOTPSecretEnc) > 0 {
		secret, err := s.Sealer.Open(u.TOTPSecretEnc)
		if err != nil {
			return err
		}
		v.Secret = string(secret)
		uri, err := twofactor.URI(v.Secret, u.Email)
		if err != nil {
			return err
		}
		if v.QR, err = twofactor.NewQR(uri); err != nil {
			return err
		}
		v.Pending = true
		// The key is on the page: keep it out of caches and history.
		c.Response().Header().Set("Cache-Control", "no-store")
	}
	crumbs := []views.Crumb{{Label: "Account", Href: "/account"}, {Label: "Two-factor sign-in"}}
	return s.render(c, status, views.TwoFactorSetupPage(s.page(c, "Set up two-factor sign-in", "account", crumbs...), v))
}

// twoFactorStart makes a fresh pending secret (replacing an unconfirmed
// one) and shows it.
func (s *Server) twoFactorStart(c echo.Context) error {
	ctx := c.Request().Context()
	u := currentUser(c)
	if !u.PasswordLogin {
		return echo.NewHTTPError(http.StatusUnprocessableEntity, tr(c, "You sign in through single sign-on; your provider handles the second factor."))
	}
	secret, err := twofactor.NewSecret()
	if err != nil {
		return err
	}
	sealed, err := s.Sealer.Seal([]byte(secret))
	if err != nil {
		return err
	}
	if err := s.Store.SetPendingTOTP(ctx, u.ID, sealed); err != nil && !errors.Is(err, store.ErrTwoFactorOn) {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/account/two-factor")
}

// twoFactorEnable confirms the enrolment with a code of the pending
// secret and shows the recovery codes, once.
func (s *Server) twoFactorEnable(c echo.Context) error {
	ctx := c.Request().Context()
	u, err := s.Store.UserByID(ctx, currentUser(c).ID)
	if err != nil {
		return err
	}
	if u.TOTPEnabled || len(u.TOTPSecretEnc) == 0 {
		return c.Redirect(http.StatusSeeOther, "/account/two-factor")
	}
	secret, err := s.Sealer.Open(u.TOTPSecretEnc)
	if err != nil {
		return err
	}
	step, ok := twofactor.Match(string(secret), c.FormValue("code"), s.Store.Now(), u.TOTPLastStep)
	if !ok {
		return s.renderTwoFactorSetup(c, http.StatusUnprocessableEntity, views.FieldErrors{"code": tr(c, "That code is not right. Check the time on your phone and enter the code the app shows now.")})
	}
	codes, hashes, err := newRecoveryCodes()
	if err != nil {
		return err
	}
	err = s.Store.WithTx(ctx, func(ctx context.Context) error {
		if err := s.Store.EnableTOTP(ctx, u.ID, step, hashes); err != nil {
			return err
		}
		return s.Store.Audit(ctx, actor(c), "user.two_factor_enable", "user", u.Email, "")
	})
	if errors.Is(err, store.ErrTwoFactorOn) {
		return c.Redirect(http.StatusSeeOther, "/account")
	}
	if err != nil {
		return err
	}
	return s.showRecoveryCodes(c, codes, false)
}

// twoFactorDisable turns two-factor off after the password and a code (or
// a recovery code): someone at an unlocked browser cannot do it alone.
func (s *Server) twoFactorDisable(c echo.Context) error {
	done, err := s.confirmTwoFactorChange(c, "password", "code", func(ctx context.Context, u *models.User, how string) error {
		if err := s.Store.DisableTOTP(ctx, u.ID); err != nil {
			return err
		}
		return s.Store.Audit(ctx, actor(c), "user.two_factor_disable", "user", u.Email, "confirmed with "+how)
	})
	if done || err != nil {
		return err
	}
	setFlash(c, "success", tr(c, "Two-factor sign-in is off."))
	return c.Redirect(http.StatusSeeOther, "/account")
}

// twoFactorRecoveryCodes replaces the recovery codes (all used, or shown
// to someone else) after the password and a code, and shows the new ones
// once.
func (s *Server) twoFactorRecoveryCodes(c echo.Context) error {
	codes, hashes, err := newRecoveryCodes()
	if err != nil {
		return err
	}
	done, err := s.confirmTwoFactorChange(c, "recovery_password", "recovery_code", func(ctx context.Context, u *models.User, how string) error {
		if err := s.Store.ReplaceRecoveryCodes(ctx, u.ID, hashes); err != nil {
			return err
		}
		return s.Store.Audit(ctx, actor(c), "user.two_factor_recovery_codes", "user", u.Email, "new codes, confirmed with "+how)
	})
	if done || err != nil {
		return err
	}
	return s.showRecoveryCodes(c, codes, true)
}

// confirmTwoFactorChange runs change (in one transaction with the use of
// the second factor) once the form's password (field pwField) and code
// (codeField) are right. done means it already answered: the account page
// again with the field's error, or a redirect when two-factor is off.
func (s *Server) confirmTwoFactorChange(c echo.Context, pwField, codeField string, change func(ctx context.Context, u *models.User, how string) error) (done bool, err error) {
	ctx := c.Request().Context()
	u, err := s.Store.UserByID(ctx, currentUser(c).ID)
	if err != nil {
		return true, err
	}
	if !u.TOTPEnabled {
		return true, c.Redirect(http.StatusSeeOther, "/account")
	}
	password, code := c.FormValue("password"), c.FormValue("code")
	refuse := func(field, msg string) (bool, error) {
		return true, s.renderAccount(c, http.StatusUnprocessableEntity, views.AccountView{Errors: views.FieldErrors{field: msg}})
	}
	if len(password) > maxPasswordBytes {
		return refuse(pwField, tr(c, "The current password is incorrect."))
	}
	release, ok := s.tryHashSlot()
	if !ok {
		retryAfter(c, 0)
		return true, echo.NewHTTPError(http.StatusTooManyRequests, tr(c, "The server is busy; try again in a moment."))
	}
	good, _ := models.VerifyPassword(u.PasswordHash, password)
	release()
	if !good {
		return refuse(pwField, tr(c, "The current password is incorrect."))
	}
	err = s.Store.WithTx(ctx, func(ctx context.Context) error {
		how, err := s.useSecondFactor(ctx, c, u, code)
		if err != nil {
			return err
		}
		return change(ctx, u, how)
	})
	switch {
	case errors.Is(err, errWrongCode):
		return refuse(codeField, tr(c, "That code is not right, or it was already used."))
	case errors.Is(err, store.ErrTwoFactorOff):
		return true, c.Redirect(http.StatusSeeOther, "/account")
	case err != nil:
		return true, err
	}
	return false, nil
}

// newRecoveryCodes makes a set of recovery codes and the hashes stored.
func newRecoveryCodes() (codes, hashes []string, err error) {
	if codes, err = twofactor.NewRecoveryCodes(); err != nil {
		return nil, nil, err
	}
	hashes = make([]string, len(codes))
	for i, code := range codes {
		hashes[i] = store.HashToken(twofactor.NormalizeRecovery(code))
	}
	return codes, hashes, nil
}

// showRecoveryCodes is the page that shows recovery codes, once: after
// enrolment, or renewed.
func (s *Server) showRecoveryCodes(c echo.Context, codes []string, renewed bool) error {
	title := "Recovery codes"
	if renewed {
		title = "New recovery codes"
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	crumbs := []views.Crumb{{Label: "Account", Href: "/account"}, {Label: "Recovery codes"}}
	return s.render(c, http.StatusOK, views.RecoveryCodesPage(s.page(c, title, "account", crumbs...), codes, renewed))
}

// errWrongCode: the second factor given is wrong, reused or used up.
var errWrongCode = errors.New("handlers: wrong two-factor code")

// useSecondFactor accepts a TOTP code (its step recorded, so it works
// once) or an unused recovery code (marked used, audited), inside the
// caller's transaction; how says which, for the audit log.
func (s *Server) useSecondFactor(ctx context.Context, c echo.Context, u *models.User, code string) (how string, err error) {
	if twofactor.LooksLikeCode(code) {
		secret, err := s.Sealer.Open(u.TOTPSecretEnc)
		if err != nil {
			return "", err
		}
		step, ok := twofactor.Match(string(secret), code, s.Store.Now(), u.TOTPLastStep)
		if !ok {
			return "", errWrongCode
		}
		if ok, err = s.Store.UseTOTPStep(ctx, u.ID, step); err != nil {
			return "", err
		} else if !ok {
			return "", errWrongCode
		}
		return "an authenticator code", nil
	}
	norm := twofactor.NormalizeRecovery(code)
	if norm == "" || len(norm) > 64 {
		return "", errWrongCode
	}
	ok, err := s.Store.UseRecoveryCode(ctx, u.ID, store.HashToken(norm))
	if err != nil {
		return "", err
	}
	if !ok {
		return "", errWrongCode
	}
	left, err := s.Store.RecoveryCodesLeft(ctx, u.ID)
	if err != nil {
		return "", err
	}
	a := store.Actor{UserID: &u.ID, Name: u.Email, IP: c.RealIP()}
	if err := s.Store.Audit(ctx, a, "user.two_factor_recovery", "user", u.Email, itoa64(left)+" recovery codes left"); err != nil {
		return "", err
	}
	return "a recovery code", nil
}
