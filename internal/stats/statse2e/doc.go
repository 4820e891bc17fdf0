// Package statse2e holds the end-to-end test of the statistics against the
// whole pipeline (devstack: JetStream, a dispatcher pod, linesim). It is a
// package of its own so that the stats unit tests build without the rest of
// the dispatcher.
package statse2e
