"""An EFFECTIVELY_ONCE function (`shfn run` against a `shfn broker` of its own process) under a
steady load of numbered inputs from the official Python client, while SIGKILL takes down either
the runtime, again and again (each time started anew), or the broker under the runtime (which
must reconnect and carry on). The outputs must be the receipted inputs exactly: every one, once,
in input order. An output published again after a crash carries the same sequence id, derived
from its input's message id, so the broker drops it; an input acked by nobody comes back."""
import os
import time

from chaoslib import (Broker, Forwarder, Load, Run, kill_points, payload, read_topic, summary,
                      tally, wait_for, wait_for_payloads)

SPEC = """kind: Function
metadata:
  name: once
spec:
  command: "cat"
  inputs: [chaos-in]
  output: chaos-out
  processingGuarantees: EFFECTIVELY_ONCE
  subscriptionPosition: Earliest
"""
INPUTS = "persistent://public/default/chaos-in"
OUTPUTS = "persistent://public/default/chaos-out"
RATE = 150  # inputs a second: under what one exec-mode instance does on 2 cores, so it keeps up


def write_spec(workdir):
    path = os.path.join(workdir, "spec.yaml")
    with open(path, "w") as f:
        f.write(SPEC)
    return path


def finish(scenario, broker, run, load, kills, started, workdir):
    """Stops the load, waits for the function to catch up, stops it gracefully (so nothing is
    still on its way), then reads every output and compares."""
    load.finish()
    expected = [payload(load.name, n) for n in sorted(load.receipted)]
    wait_for_payloads(broker.url, OUTPUTS, expected, workdir)
    assert run.proc.poll() is None, f"shfn run died:\n{run.log()[-3000:]}"
    assert run.stop() == 0, run.log()[-3000:]
    outputs = read_topic(broker.url, OUTPUTS, workdir)
    lost, duplicates, disorder = tally({load.name: load.receipted}, outputs)
    summary(scenario, kills=kills, inputs=load.sent, receipted=len(load.receipted),
            outputs=len(outputs), lost=len(lost), duplicates=len(duplicates),
            wall=f"{time.monotonic() - started:.1f}s")
    assert not lost, f"{len(lost)} receipted inputs without an output, e.g. {lost[:5]}"
    assert not duplicates, f"{len(duplicates)} outputs published twice, e.g. {duplicates[:5]}"
    assert not disorder, "outputs out of input order"
    assert outputs == expected
    assert len(load.receipted) == load.sent, f"inputs without a receipt: {load.failed}"


def test_run_kill_9_under_load_effectively_once(workdir, rng, kills):
    started = time.monotonic()
    spec = write_spec(workdir)
    broker = Broker(workdir).start()
    load = Load(lambda: broker.url, INPUTS, "chaos-input", workdir, batching=True, rate=RATE)
    run = None
    killed = 0
    try:
        for step in kill_points(rng, kills(6), 10, 200):
            run = Run(spec, broker.url, workdir, "run")
            wait_for(lambda: run.processed("once") >= step, timeout=90,
                     what=f"{step} outputs from run {killed + 1}")
            run.kill()
            killed += 1
        run = Run(spec, broker.url, workdir, "run")
        wait_for(lambda: run.processed("once") >= 50, timeout=90, what="outputs after the kills")
        finish("run-kill/effectively-once", broker, run, load, killed, started, workdir)
    finally:
        load.abort()
        if run:
            run.stop()
        broker.stop()


def test_broker_kill_9_under_a_running_function(workdir, rng, kills):
    started = time.monotonic()
    spec = write_spec(workdir)
    broker = Broker(workdir).start()
    # One address for the runtime and the load across restarts on new ports (see Forwarder).
    forwarder = Forwarder(lambda: ("127.0.0.1", broker.port) if broker.alive() else None)
    load = Load(lambda: forwarder.url, INPUTS, "chaos-input", workdir, batching=True, rate=RATE)
    run = Run(spec, forwarder.url, workdir, "run")
    try:
        for step in kill_points(rng, kills(6), 10, 200):
            target = run.processed("once") + step
            wait_for(lambda: run.processed("once") >= target, timeout=90,
                     what=f"{target} outputs before broker kill {broker.kills + 1}")
            broker.kill()
            broker.start()
        target = run.processed("once") + 50
        wait_for(lambda: run.processed("once") >= target, timeout=90,
                 what="outputs after the last restart")
        finish("broker-kill/effectively-once", broker, run, load, broker.kills, started, workdir)
    finally:
        load.abort()
        run.stop()
        forwarder.close()
        broker.stop()
