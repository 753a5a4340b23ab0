package handlers

import (
	"context"
	"fmt"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/botdesk/botdesk/models"
	"github.com/botdesk/botdesk/views"
)

var usersCrumb = views.Crumb{Label: "Users"}

func (s *Server) userList(c echo.Context) error {
	return s.renderUsers(c, http.StatusOK, views.UsersView{NewRole: string(models.RoleAgent)})
}

func (s *Server) renderUsers(c echo.Context, status int, v views.UsersView) error {
	us, err := s.Store.ListUsers(c.Request().Context())
	if err != nil {
		return err
	}
	v.Users = us
	if v.RequireTwoFactor, err = s.Store.RequireTwoFactorForAdmins(c.Request().Context()); err != nil {
		return err
	}
	return s.render(c, status, views.UsersPage(s.page(c, "Users", "users", usersCrumb), v))
}

func (s *Server) userCreate(c echo.Context) error {
	ctx := c.Request().Context()
	email, roleStr := c.FormValue("email"), c.FormValue("role")
	role, err := models.ParseRole(roleStr)
	if err != nil {
		return s.renderUsers(c, http.StatusUnprocessableEntity, views.UsersView{NewEmail: email, NewRole: roleStr, Errors: views.FieldErrors{"role": err.Error()}})
	}
	var u *models.User
	err = s.Store.WithTx(ctx, func(ctx context.Context) error {
		var err error
		if u, err = s.Store.CreateUser(ctx, email, role, c.FormValue("password")); err != nil {
			return err
		}
		return s.Store.Audit(ctx, actor(c), "user.create", "user", u.Email, "role "+string(u.Role))
	})
	if v, ok := models.AsValidation(err); ok {
		return s.renderUsers(c, http.StatusUnprocessableEntity, views.UsersView{NewEmail: email, NewRole: roleStr, Errors: views.FieldErrors{v.Field: v.Message}})
	}
	if err != nil {
		if isConflict(err) {
			return s.renderUsers(c, http.StatusUnprocessableEntity, views.UsersView{NewEmail: email, NewRole: roleStr, Errors: views.FieldErrors{"email": "An account with this email already exists."}})
		}
		return err
	}
	setFlash(c, "success", tr(c, "User %s created as %s.", u.Email, tr(c, string(u.Role))))
	return c.Redirect(http.StatusSeeOther, "/users")
}

func (s *Server) userUpdate(c echo.Context) error {
	ctx := c.Request().Context()
	id, err := strconv.ParseInt(c.Param("uid"), 10, 64)
	if err != nil {
		return echo.NewHTTPError(http.StatusNotFound)
	}
	role, err := models.ParseRole(c.FormValue("role"))
	if err != nil {
		return models.Invalid("role", err.Error())
	}
	active := c.FormValue("active") == "1"
	before, err := s.Store.UserByID(ctx, id)
	if err != nil {
		return err
	}
	var u *models.User
	err = s.Store.WithTx(ctx, func(ctx context.Context) error {
		var err error
		if u, err = s.Store.UpdateUser(ctx, id, role, active); err != nil {
			return err
		}
		if before.Role != u.Role {
			if err := s.Store.Audit(ctx, actor(c), "user.role", "user", u.Email, fmt.Sprintf("%s → %s", before.Role, u.Role)); err != nil {
				return err
			}
		}
		if before.Active != u.Active {
			action := "user.deactivate"
			if u.Active {
				action = "user.activate"
			}
			return s.Store.Audit(ctx, actor(c), action, "user", u.Email, "")
		}
		return nil
	})
	if v, ok := models.AsValidation(err); ok {
		setFlash(c, "error", tr(c, v.Message))
		return c.Redirect(http.StatusSeeOther, "/users")
	}
	if err != nil {
		return err
	}
	setFlash(c, "success", tr(c, "Saved %s.", u.Email))
	return c.Redirect(http.StatusSeeOther, "/users")
}
