package sandbox_test

import (
	"fmt"
	"io"
	"net/http"
	"strings"

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

func ExampleParseTelegramHTML() {
	visible, err := sandbox.ParseTelegramHTML(`<b>Ten</b> tips &amp; <a href="https://example.com">more</a>`)
	fmt.Printf("%q %d %v\n", visible, sandbox.TextLength(visible), err)
	_, err = sandbox.ParseTelegramHTML("x < y")
	fmt.Println(err)
	// Output:
	// "Ten tips & more" 15 <nil>
	// Bad Request: can't parse entities: Unsupported start tag "" at byte offset 2
}
