package backlog_test

import (
	"fmt"

	"github.com/linedispatch/linedispatch/internal/backlog"
)

func Example() {
	m, err := backlog.Encode("line.backlog.7.C1.U1.push", []backlog.Record{
		{MsgID: "a", Seq: 41, Data: []byte(`{"id":"a"}`)},
		{MsgID: "b", Seq: 42, Data: []byte(`{"id":"b"}`)},
	})
	if err != nil {
		panic(err)
	}
	recs, err := backlog.Decode(m.Data, m.Header)
	if err != nil {
		panic(err)
	}
	fmt.Println(m.Header.Get(backlog.HeaderCount), "records")
	for _, r := range recs {
		fmt.Println(r.MsgID, r.Seq, string(r.Data))
	}
	// Output:
	// 2 records
	// a 41 {"id":"a"}
	// b 42 {"id":"b"}
}
