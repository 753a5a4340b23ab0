package bench

import (
	"context"
	"fmt"
	"strconv"

	"github.com/botdesk/botdesk/models"
	"github.com/botdesk/botdesk/store"
	"github.com/botdesk/botdesk/telegram/telegramtest"
)

// benchKey is the BOTDESK_SECRET_KEY of every scenario (64 hex chars): the
// bench seals tokens with it and the real binary opens them with it.
const benchKey = "62656e63682d6b65792d6e6f742d612d7365637265742d303132333435363738"

// openStore opens a real store in dir and the sealer of benchKey.
func openStore(ctx context.Context, dir string) (*store.Store, *store.Sealer, error) {
	st, err := store.Open(ctx, store.Config{DataDir: dir})
	if err != nil {
		return nil, nil, err
	}
	sealer, err := newSealer()
	if err != nil {
		_ = st.Close()
		return nil, nil, err
	}
	return st, sealer, nil
}

// benchBotID is the Telegram id of the i-th bench bot.
func benchBotID(i int) int64 { return 7_000_000_000 + int64(i) }

// connectBot creates a channel in the given workbench mode and connects
// the bench bot i to it through the store, as Connect does after getMe:
// the fake learns the bot, the token is sealed with benchKey.
func connectBot(ctx context.Context, st *store.Store, sealer *store.Sealer, fake *telegramtest.Server, i int, mode models.WorkbenchMode) (string, int64, error) {
	id := benchBotID(i)
	tok := fake.AddBot(telegramtest.BotSpec{ID: id, Username: "bench" + strconv.Itoa(i) + "_bot"})
	ch, err := st.CreateChannel(ctx, "Bench "+strconv.Itoa(i), nil)
	if err != nil {
		return "", 0, fmt.Errorf("bench: create channel: %w", err)
	}
	if mode != models.WorkbenchOff {
		if _, err := st.SetWorkbench(ctx, ch.ID, mode, nil); err != nil {
			return "", 0, fmt.Errorf("bench: workbench mode: %w", err)
		}
	}
	enc, err := sealer.Seal([]byte(tok))
	if err != nil {
		return "", 0, err
	}
	b := &models.Bot{ChannelID: ch.ID, TelegramID: id, Username: "bench" + strconv.Itoa(i) + "_bot", FirstName: "Bench",
		TokenEnc: enc, TokenHint: tok[len(tok)-4:]}
	if err := st.CreateBot(ctx, b); err != nil {
		return "", 0, fmt.Errorf("bench: create bot: %w", err)
	}
	return ch.ID, id, nil
}

// newSealer is the sealer of benchKey.
func newSealer() (*store.Sealer, error) { return store.NewSealer(benchKey) }
