using Datapath.Engine.Forwarding;
using Datapath.Engine.Ports;

namespace Datapath.App.Running;

/// <summary>
/// testpmd's start/stop around the forwarding engine: port counters are snapshotted at start so
/// that `stop` and `show fwd stats all` report what this run forwarded, per port and in total.
/// </summary>
public sealed class ForwardSession(ForwardingEngine forwarding, PortTable ports)
{
    readonly Dictionary<int, PortStats> _atStart = new();

    public ForwardingEngine Forwarding { get; } = forwarding;
    public bool Running => Forwarding.Running;

    public void Start(int txFirstBursts)
    {
        foreach (var p in ports.All)
        {
            if (p.State != PortState.Started)
                throw new InvalidOperationException($"Not all ports were started: port {p.Id} is {p.State.ToString().ToLowerInvariant()} (port start {p.Id})");
        }
        // Snapshot first, as testpmd's fwd_stats_reset runs before the tx_first bursts: they count.
        ResetStats();
        Forwarding.Start(txFirstBursts);
    }

    /// <summary>Zeroes the forward statistics (`clear fwd stats all`, and every start).</summary>
    public void ResetStats()
    {
        _atStart.Clear();
        foreach (var p in ports.All) _atStart[p.Id] = p.GetStats();
        Forwarding.ResetCounters();
    }

    public void Stop() => Forwarding.Stop();

    /// <summary>What a port did since start: its counters minus those at start.</summary>
    public PortStats SinceStart(Port p) => _atStart.TryGetValue(p.Id, out var s) ? p.GetStats().Minus(s) : p.GetStats();
}
