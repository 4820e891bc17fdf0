package queue

var RedactForTest = redact
