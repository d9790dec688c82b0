using System.Runtime.InteropServices;
using System.Threading.Channels;

namespace Datapath.App.Running;

/// <summary>
/// The main lcore's loop: it waits for control events (console lines, signals) and wakes every
/// period for timed work (statistics). It runs on the thread that owns the main lcore, so handlers
/// need no locks against each other.
/// </summary>
public sealed class ControlLoop : IDisposable
{
    readonly Channel<ControlEvent> _events = Channel.CreateUnbounded<ControlEvent>(new UnboundedChannelOptions { SingleReader = true });
    readonly PosixSignalRegistration _sigint, _sigterm;

    public ChannelWriter<ControlEvent> Events => _events.Writer;

    public ControlLoop()
    {
        // Cancel the default action (exit) and let the loop shut the engine down in order.
        _sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => { c.Cancel = true; _events.Writer.TryWrite(new ControlEvent.Signal("SIGINT")); });
        _sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; _events.Writer.TryWrite(new ControlEvent.Signal("SIGTERM")); });
    }

    /// <summary>
    /// Runs until <paramref name="handle"/> returns false or <paramref name="tick"/> does. With no
    /// period, only events wake the loop.
    /// </summary>
    public void Run(Func<ControlEvent, bool> handle, TimeSpan? period, Func<bool> tick)
    {
        var reader = _events.Reader;
        var nextTick = period is { } p ? DateTime.UtcNow + p : DateTime.MaxValue;
        Task<bool>? waiting = null;
        while (true)
        {
            while (reader.TryRead(out var ev))
                if (!handle(ev)) return;
            waiting ??= reader.WaitToReadAsync().AsTask();
            var wait = nextTick == DateTime.MaxValue ? Timeout.InfiniteTimeSpan : Max(nextTick - DateTime.UtcNow, TimeSpan.Zero);
            if (waiting.Wait(wait))
            {
                waiting = null;
                continue;
            }
            if (!tick()) return;
            nextTick = DateTime.UtcNow + period!.Value;
        }
    }

    static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;

    public void Dispose()
    {
        _sigint.Dispose();
        _sigterm.Dispose();
    }
}
