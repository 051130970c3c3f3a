package sandbox_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/heraldcli/herald/channels/sandbox"
)

func Example() {
	sb := sandbox.New(sandbox.Options{Rate: 30})
	base, err := sb.Start("127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer sb.Close()
	sb.SetChat("1002", sandbox.ChatBlocked)

	send := func(body string) {
		res, err := http.Post(base+"/bot123456:ABC-def/sendMessage", "application/json", strings.NewReader(body))
		if err != nil {
			panic(err)
		}
		defer res.Body.Close()
		answer, _ := io.ReadAll(res.Body)
		fmt.Println(res.StatusCode, string(answer)[:min(len(answer), 90)])
	}
	send(`{"chat_id":1001,"text":"<b>Sale</b> &amp; more","parse_mode":"HTML"}`)
	send(`{"chat_id":1002,"text":"hello"}`)
	send(`{"chat_id":1001,"text":"<blink>!</blink>","parse_mode":"HTML"}`)

	for _, m := range sb.Messages() {
		fmt.Printf("%s #%d: %q\n", m.Chat, m.ID, m.Plain)
	}
	// Output:
	// 200 {"ok":true,"result":{"message_id":1,"from":{"id":123456,"is_bot":true,"first_name":"Herald
	// 403 {"ok":false,"error_code":403,"description":"Forbidden: bot was blocked by the user"}
	// 400 {"ok":false,"error_code":400,"description":"Bad Request: can't parse entities: Unsupported
	// 1001 #1: "Sale & more"
}

func ExampleServer_InjectTelegram() {
	clock := func() time.Time { return time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC) }
	sb := sandbox.New(sandbox.Options{Tokens: []string{"123456:ABC-def"}, Now: clock})
	base, err := sb.Start("127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer sb.Close()

	// A user opens the bot from a deep link: Telegram sends "/start <payload>".
	res, err := sb.InjectTelegram(context.Background(), sandbox.TelegramEvent{
		Type: "message", ChatID: 1001, Text: "/start blog",
		From: &sandbox.TelegramUser{FirstName: "Ada", Username: "ada", LanguageCode: "it"},
	})
	if err != nil {
		panic(err)
	}
	fmt.Println(res.Delivery, res.UpdateID)

	answer, err := http.Post(base+"/bot123456:ABC-def/getUpdates", "application/json", strings.NewReader(`{"timeout":1}`))
	if err != nil {
		panic(err)
	}
	defer answer.Body.Close()
	body, _ := io.ReadAll(answer.Body)
	fmt.Println(string(body))
	// Output:
	// polling 700008674
	// {"ok":true,"result":[{"update_id":700008674,"message":{"message_id":1,"from":{"id":1001,"is_bot":false,"first_name":"Ada","username":"ada","language_code":"it"},"date":1780315200,"chat":{"id":1001,"first_name":"Ada","username":"ada","type":"private"},"text":"/start blog","entities":[{"type":"bot_command","offset":0,"length":6}]}}]}
}

func ExampleParseTelegramHTML() {
	visible, err := sandbox.ParseTelegramHTML(`<b>Ten</b> tips &amp; <a href="https://example.com">more</a>`)
	fmt.Printf("%q %d %v\n", visible, sandbox.TextLength(visible), err)
	_, err = sandbox.ParseTelegramHTML("x < y")
	fmt.Println(err)
	// Output:
	// "Ten tips & more" 15 <nil>
	// Bad Request: can't parse entities: Unsupported start tag "" at byte offset 2
}
