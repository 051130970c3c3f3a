// Command herald sends broadcast campaigns to opted-in subscribers on
// Telegram and Messenger, from campaign files kept in git.
package main

import "os"

func main() { os.Exit(Main(os.Args[1:], SystemStreams())) }
