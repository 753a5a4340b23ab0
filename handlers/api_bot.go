package handlers

import (
	"net/http"

	"github.com/labstack/echo/v4"
)

type apiTokenBody struct {
	Token string `json:"token"`
}

// bindJSON decodes the request body into v; a body that does not decode is
// a 400 naming example as the expected shape.
func bindJSON(c echo.Context, v any, example string) error {
	if err := c.Bind(v); err != nil {
		return echo.NewHTTPError(http.StatusBadRequest, "Send a JSON body like "+example+".")
	}
	return nil
}

// apiBotGet: GET /api/v1/channels/{id}/bot.
func (s *Server) apiBotGet(c echo.Context) error {
	_, bot, err := s.requireBot(c)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toAPIBot(bot))
}

// apiBotConnect: PUT /api/v1/channels/{id}/bot {token}. 201 when connected,
// 200 when the same token was already connected (a retried request).
func (s *Server) apiBotConnect(c echo.Context) error {
	ch, err := s.channelParam(c)
	if err != nil {
		return err
	}
	var in apiTokenBody
	if err := bindJSON(c, &in, `{"token": "123456789:AA…"}`); err != nil {
		return err
	}
	bot, created, err := s.BotService.Connect(c.Request().Context(), actor(c), ch, in.Token)
	if err != nil {
		return err
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	return c.JSON(status, toAPIBot(bot))
}

// apiBotToken: POST /api/v1/channels/{id}/bot/token {token}.
func (s *Server) apiBotToken(c echo.Context) error {
	ch, bot, err := s.requireBot(c)
	if err != nil {
		return err
	}
	var in apiTokenBody
	if err := bindJSON(c, &in, `{"token": "123456789:AA…"}`); err != nil {
		return err
	}
	bot, err = s.BotService.UpdateToken(c.Request().Context(), actor(c), ch, bot, in.Token)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toAPIBot(bot))
}

// apiBotDelete: DELETE /api/v1/channels/{id}/bot (admin).
func (s *Server) apiBotDelete(c echo.Context) error {
	ch, bot, err := s.requireBot(c)
	if err != nil {
		return err
	}
	n, err := s.BotService.Delete(c.Request().Context(), actor(c), ch, bot)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"deleted": true, "chats_removed": n})
}

// apiWorkbench: PUT /api/v1/channels/{id}/workbench {mode, keywords}.
func (s *Server) apiWorkbench(c echo.Context) error {
	ch, err := s.channelParam(c)
	if err != nil {
		return err
	}
	var in struct {
		Mode     string   `json:"mode"`
		Keywords []string `json:"keywords"`
	}
	if err := bindJSON(c, &in, `{"mode": "keyword", "keywords": ["help"]}`); err != nil {
		return err
	}
	mode, kw, err := s.saveWorkbench(c.Request().Context(), actor(c), ch, in.Mode, in.Keywords)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"mode": mode, "keywords": []string(kw)})
}
