package handlers

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"path"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/botdesk/botdesk/models"
	"github.com/botdesk/botdesk/store"
	"github.com/botdesk/botdesk/telegram"
)

// maxMediaBytes is the Bot API's own getFile limit; a larger body is cut.
const maxMediaBytes = 20 << 20

// inlineMedia are the types a browser may show in place; everything else
// is forced to download, so a hostile upload cannot run as a page.
// Audio and video are inline too, for the workbench's players: a media
// type cannot run script, and nosniff keeps browsers from guessing.
var inlineMedia = map[string]bool{"image/jpeg": true, "image/png": true, "image/webp": true, "image/gif": true,
	"audio/ogg": true, "audio/mpeg": true, "audio/mp4": true, "audio/x-m4a": true, "audio/webm": true,
	"video/mp4": true, "video/webm": true}

// typeByExt names what Telegram stores without a mime type (photos,
// stickers, video notes) from the extension of its file path.
var typeByExt = map[string]string{".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png", ".webp": "image/webp",
	".webm": "video/webm", ".mp4": "video/mp4", ".oga": "audio/ogg", ".ogg": "audio/ogg", ".mp3": "audio/mpeg"}

// mediaDownload relays a message's file from Telegram (getFile, then the
// file URL) through botdesk, so the token-bearing URL never reaches the
// browser.
func (s *Server) mediaDownload(c echo.Context) error {
	ctx := c.Request().Context()
	id, err := strconv.ParseInt(c.Param("mid"), 10, 64)
	if err != nil {
		return echo.NewHTTPError(http.StatusNotFound)
	}
	msg, err := s.Store.MessageRowByID(ctx, id)
	if err != nil {
		return err
	}
	// Agents may only fetch what the workbench shows them.
	if !currentRole(c).AtLeast(models.RoleOperator) {
		in, err := s.Store.ChatInWorkbench(ctx, msg.ChannelID, msg.ChatID)
		if err != nil {
			return err
		}
		if !in {
			return echo.NewHTTPError(http.StatusNotFound, "This message has no downloadable file.")
		}
	}
	media, err := models.ParseMedia(msg.Media)
	if err != nil || !media.HasFile() {
		return echo.NewHTTPError(http.StatusNotFound, "This message has no downloadable file.")
	}
	bot, err := s.Store.BotByTelegramID(ctx, msg.BotTelegramID)
	if errors.Is(err, store.ErrNotFound) {
		return echo.NewHTTPError(http.StatusGone, "The bot that received this file was deleted, so Telegram will not hand it out any more.")
	}
	if err != nil {
		return err
	}
	client, err := telegram.ClientFromSealed(s.Sealer, bot.TokenEnc, s.Options.TelegramAPI, s.HTTPClient)
	if err != nil {
		return fmt.Errorf("media: client: %w", err)
	}
	f, err := client.GetFile(ctx, media.FileID)
	if err != nil {
		return mediaError(err)
	}
	body, err := client.OpenFile(ctx, f.FilePath)
	if err != nil {
		return mediaError(err)
	}
	defer body.Close()

	ctype := media.MimeType
	if ctype == "" {
		ctype = typeByExt[strings.ToLower(path.Ext(f.FilePath))]
	}
	if ctype == "" && msg.Type == "photo" {
		ctype = "image/jpeg"
	}
	h := c.Response().Header()
	h.Set("Content-Security-Policy", "default-src 'none'; sandbox")
	h.Set("Cache-Control", "private, max-age=3600")
	name := safeFileName(media.FileName, msg.Type, id)
	if inlineMedia[ctype] {
		h.Set(echo.HeaderContentType, ctype)
		h.Set("Content-Disposition", mime.FormatMediaType("inline", map[string]string{"filename": name}))
	} else {
		h.Set(echo.HeaderContentType, "application/octet-stream")
		h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": name}))
	}
	c.Response().WriteHeader(http.StatusOK)
	_, err = io.Copy(c.Response(), io.LimitReader(body, maxMediaBytes))
	return err
}

// mediaError turns a Telegram failure into a plain message (errors from the
// telegram package are already token-free).
func mediaError(err error) error {
	switch {
	case errors.Is(err, telegram.ErrUnauthorized):
		return echo.NewHTTPError(http.StatusBadGateway, "Telegram rejected the bot's token; update it on Chatbot Management to download files.")
	case errors.Is(err, telegram.ErrUnavailable):
		return echo.NewHTTPError(http.StatusBadGateway, "Telegram is unreachable right now; try again in a moment.")
	}
	var api *telegram.APIError
	if errors.As(err, &api) {
		return echo.NewHTTPError(http.StatusBadGateway, "Telegram could not provide this file: "+api.Description)
	}
	return fmt.Errorf("media download: %w", err)
}

// safeFileName keeps a download name printable and path-free.
func safeFileName(name, kind string, id int64) string {
	name = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || r == '/' || r == '\\' || r == '"' {
			return '_'
		}
		return r
	}, name)
	if len(name) > 120 {
		name = name[len(name)-120:]
	}
	if name == "" {
		name = fmt.Sprintf("%s-%d", kind, id)
	}
	return name
}
