// Package e2e holds the end-to-end tests: intents published to a real
// embedded JetStream, dispatched by a real pod (in process, or as a separate
// process that the tests kill) to the LINE simulator over real HTTP.
package e2e
