package limiter

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// Defaults. Zero fields of Config and AIMDConfig take these values.
const (
	// DefaultSafety paces a lane at 98.5 % of its limit: the backlog drains
	// at 0.985 × limit (≥ 98 % promised), and the remaining 1.5 % of the
	// period is the default Guard: arrival jitter at LINE of up to 15 ms per
	// second of period cannot push a window over the limit.
	DefaultSafety = 0.985
	// MaxDefaultBurst caps the derived burst: more back-to-back sends would
	// only bunch requests at LINE.
	MaxDefaultBurst = 40
	// DefaultDecrease multiplies the pacing rate on a 429. Classic AIMD
	// halves; a lane that shares nothing with another sender gets a 429 only
	// from a jitter spike, and halving then cost ~20 % of a drain's
	// utilisation in the scenario runner, so the default backs off by a
	// quarter and lets a repeated 429 (after the cooldown) go further.
	DefaultDecrease = 0.75
	// DefaultMinFraction is the floor of the pacing rate, as a fraction of the
	// limit: a throttled lane keeps trickling so it notices recovery.
	DefaultMinFraction = 0.05
	// DefaultRecoverStep is the fraction of the limit added back per
	// RecoverEvery once 429s stop: three steps back from one decrease.
	DefaultRecoverStep = 0.1
)

// Config tunes a Limiter. The zero value means "all defaults". The same Config
// serves every lane; defaults that depend on the limit are derived per lane.
type Config struct {
	// Safety is the fraction of the limit used as the pacing rate, in (0, 1].
	// Default DefaultSafety. At 1 the log alone keeps windows within the
	// limit and there is no headroom for receiver-side jitter.
	Safety float64 `yaml:"safety" json:"safety,omitempty"`
	// Burst is the pacer's bucket size, in [1, Count]. Default DefaultBurst.
	Burst int `yaml:"burst" json:"burst,omitempty"`
	// Guard widens the window log: at most Count sends in any Period + Guard
	// at the sender, so LINE sees at most Count in any Period as long as the
	// requests' delays to LINE vary by less than Guard (goroutine scheduling,
	// connection reuse, the network). Default (1 − Safety) × Period, which the
	// pacing rate leaves free anyway: 15 ms at 2,000/1s, 54 s at 60/1h.
	Guard time.Duration `yaml:"guard" json:"guard,omitempty"`
	// AIMD governs the reaction to LINE's 429 (not the monthly quota).
	AIMD AIMDConfig `yaml:"aimd" json:"aimd,omitzero"`
	// LateAnswers says what a request answered more than Guard later than the
	// lane's fastest recent answer does to the window log: "restamp" moves it
	// to when LINE may have counted it (see Limiter.Answered), "ignore" keeps
	// its departure. Default DefaultLateAnswers ("restamp").
	LateAnswers string `yaml:"lateAnswers" json:"lateAnswers,omitempty"`
}

// AIMDConfig is the additive-increase / multiplicative-decrease reaction to
// 429. A 429 from a limiter that never exceeds the window means LINE counts
// something we do not see (another sender on the same bot and channel, a
// different window algorithm, a lower limit than documented), so the lane
// slows down and then probes back up.
type AIMDConfig struct {
	// Decrease multiplies the pacing rate on a 429, in (0, 1). Default
	// DefaultDecrease.
	Decrease float64 `yaml:"decrease" json:"decrease,omitempty"`
	// MinFraction is the floor of the pacing rate as a fraction of the limit,
	// in (0, Safety]. Default 0.05.
	MinFraction float64 `yaml:"minFraction" json:"minFraction,omitempty"`
	// RecoverStep is the fraction of the limit added back per RecoverEvery
	// without a decrease, in (0, 1]. Default DefaultRecoverStep.
	RecoverStep float64 `yaml:"recoverStep" json:"recoverStep,omitempty"`
	// RecoverEvery is the recovery interval. Default: one period of the
	// lane's limit. LINE's window remembers our sends for one period, so that
	// is the shortest interval in which a higher rate can be judged (TCP
	// likewise grows once per round trip). It scales with Limit.Scaled. Hour
	// limits therefore recover slowly (10 h from one halving); set it lower
	// if that matters.
	RecoverEvery time.Duration `yaml:"recoverEvery" json:"recoverEvery,omitempty"`
	// Cooldown: a 429 arriving within Cooldown of the previous decrease is
	// ignored. Requests already in flight, and LINE's window still holding
	// the sends made before the decrease, answer 429 for up to one period:
	// they are echoes of the same overload, not new evidence, and halving on
	// each would drop the lane to its floor at once. Default: one period.
	Cooldown time.Duration `yaml:"cooldown" json:"cooldown,omitempty"`
}

// DefaultBurst is the pacer burst used when Config.Burst is zero.
//
// Burst above 1 lets a scheduler that wakes late catch up without losing
// throughput: it tolerates lateness of (Burst − 1)/rate. Arrival jitter is
// the Guard's business (the window log), so the burst need not share the
// headroom with it: Burst = Count/50 (20 ms of lateness), at least 1, capped
// at MaxDefaultBurst, and always 1 for periods of a minute or more
// (hour-scale limits are spaced evenly; a scheduler's milliseconds of
// lateness are nothing against a one-minute gap). 2000/1s → 40, 200/1s → 4,
// 60/1h → 1. With Burst 2 at 200/1s the scenario runner measured 97.7 %
// utilisation on a loaded machine: late wake-ups lost tokens.
func DefaultBurst(l Limit, _ float64) int {
	if l.Period >= time.Minute {
		return 1
	}
	return max(1, min(l.Count/50, MaxDefaultBurst, l.Count))
}

// DefaultGuard is the window-log guard used when Config.Guard is zero.
func DefaultGuard(l Limit, safety float64) time.Duration {
	return time.Duration(math.Round((1 - safety) * float64(l.Period)))
}

// Validate checks the fields that do not depend on the limit; zero fields are
// fine (they take defaults). New checks the rest (Burst ≤ Count).
func (c Config) Validate() error {
	_, err := c.resolve(Limit{Count: MaxCount, Period: time.Second})
	return err
}

// resolve returns c with defaults filled in for limit l, or the first
// invalid field.
func (c Config) resolve(l Limit) (Config, error) {
	if err := l.Validate(); err != nil {
		return Config{}, fmt.Errorf("limiter: limit %s: %w", l, err)
	}
	if c.Safety == 0 {
		c.Safety = DefaultSafety
	}
	if !(c.Safety > 0 && c.Safety <= 1) {
		return Config{}, fmt.Errorf("limiter: safety %v must be in (0, 1]", c.Safety)
	}
	if c.Burst == 0 {
		c.Burst = DefaultBurst(l, c.Safety)
	}
	if c.Burst < 1 || c.Burst > l.Count {
		return Config{}, fmt.Errorf("limiter: burst %d must be in [1, %d] for limit %s", c.Burst, l.Count, l)
	}
	if c.Guard == 0 {
		c.Guard = DefaultGuard(l, c.Safety)
	}
	if c.Guard < 0 || c.Guard > l.Period {
		return Config{}, fmt.Errorf("limiter: guard %v must be in [0, %v] for limit %s", c.Guard, l.Period, l)
	}
	switch c.LateAnswers {
	case "":
		c.LateAnswers = DefaultLateAnswers
	case LateAnswersRestamp, LateAnswersIgnore:
	default:
		return Config{}, fmt.Errorf("limiter: lateAnswers %q must be %q or %q", c.LateAnswers, LateAnswersRestamp, LateAnswersIgnore)
	}
	a := &c.AIMD
	if a.Decrease == 0 {
		a.Decrease = DefaultDecrease
	}
	if a.MinFraction == 0 {
		a.MinFraction = min(DefaultMinFraction, c.Safety)
	}
	if a.RecoverStep == 0 {
		a.RecoverStep = DefaultRecoverStep
	}
	if a.RecoverEvery == 0 {
		a.RecoverEvery = l.Period
	}
	if a.Cooldown == 0 {
		a.Cooldown = l.Period
	}
	var errs []error
	if !(a.Decrease > 0 && a.Decrease < 1) {
		errs = append(errs, fmt.Errorf("limiter: aimd.decrease %v must be in (0, 1)", a.Decrease))
	}
	if !(a.MinFraction > 0 && a.MinFraction <= c.Safety) {
		errs = append(errs, fmt.Errorf("limiter: aimd.minFraction %v must be in (0, safety=%v]", a.MinFraction, c.Safety))
	}
	if !(a.RecoverStep > 0 && a.RecoverStep <= 1) {
		errs = append(errs, fmt.Errorf("limiter: aimd.recoverStep %v must be in (0, 1]", a.RecoverStep))
	}
	if a.RecoverEvery < 0 {
		errs = append(errs, fmt.Errorf("limiter: aimd.recoverEvery %v must be positive", a.RecoverEvery))
	}
	if a.Cooldown < 0 {
		errs = append(errs, fmt.Errorf("limiter: aimd.cooldown %v must be positive", a.Cooldown))
	}
	if len(errs) > 0 {
		return Config{}, errors.Join(errs...)
	}
	return c, nil
}
