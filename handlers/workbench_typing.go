package handlers

// POST /workbench/c/:cid/typing: while an agent types a reply, the
// customer sees "typing…" (sendChatAction). Telegram shows it for 5 s, so
// it is sent at most once per 5 s per conversation, whatever the browser
// asks (static/js/rich.js already asks no more often).

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/botdesk/botdesk/models"
	"github.com/botdesk/botdesk/telegram"
)

// typingEvery is how long Telegram shows a chat action.
const typingEvery = 5 * time.Second

// typingGate remembers when "typing" was last sent per conversation.
type typingGate struct {
	mu   sync.Mutex
	last map[int64]time.Time
}

// allow reports whether a typing action may be sent for conv now, and if
// so records it.
func (g *typingGate) allow(conv int64, now time.Time) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.last == nil {
		g.last = map[int64]time.Time{}
	}
	if t, ok := g.last[conv]; ok && now.Sub(t) < typingEvery {
		return false
	}
	// Old entries are dropped so the map stays as small as the live set.
	for id, t := range g.last {
		if now.Sub(t) >= typingEvery {
			delete(g.last, id)
		}
	}
	g.last[conv] = now
	return true
}

func (s *Server) workbenchTyping(c echo.Context) error {
	conv, err := s.loadConversation(c, c.Param("cid"))
	if err != nil {
		return err
	}
	if !s.typing.allow(conv.ID, time.Now()) {
		return c.NoContent(http.StatusNoContent)
	}
	ctx, cancel := context.WithTimeout(c.Request().Context(), messageChangeTimeout)
	defer cancel()
	bot, err := s.Store.BotByChannel(ctx, conv.ChannelID)
	if err != nil {
		return c.NoContent(http.StatusNoContent) // no bot: nothing to show
	}
	client, err := s.botClient(ctx, &models.Message{BotTelegramID: bot.TelegramID, ChannelID: conv.ChannelID})
	if err != nil {
		return err
	}
	if err := client.SendTyping(ctx, conv.ChatID, telegram.SendOptions{ThreadID: conv.ThreadID, BusinessConnectionID: conv.BusinessConnectionID}); err != nil {
		// A courtesy: a failure is logged, never shown.
		s.Log.Info("workbench: typing action", "conversation", conv.ID, "err", err)
	}
	return c.NoContent(http.StatusNoContent)
}
