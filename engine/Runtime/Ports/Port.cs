using System.Runtime.CompilerServices;
using Datapath.Engine.Packets;

namespace Datapath.Engine.Ports;

/// <summary>
/// The port contract every PMD implements (DESIGN.md, "Ports"): configure, start/stop, burst rx/tx,
/// link, promiscuous mode, stats and named extended stats. <see cref="TxBurst"/> takes ownership of
/// the packets it accepts and frees them when done; the caller still owns the rest.
/// Rx/tx of one queue are called from one lcore at a time; the control calls from the main lcore.
/// </summary>
public abstract class Port : IDisposable
{
    QueueCounterBlock? _counters;
    PortStats _baseline = PortStats.Empty;

    protected Port(string name) => Name = name;

    /// <summary>The port number (assigned when the port joins a <see cref="PortTable"/>).</summary>
    public ushort Id { get; internal set; }
    public string Name { get; }
    public PortState State { get; private set; }
    public PortConfig? Config { get; private set; }
    public abstract PortInfo Info { get; }
    public virtual LinkStatus Link => State == PortState.Started ? new LinkStatus(true) : LinkStatus.Down;
    public virtual bool Promiscuous { get; set; } = true;

    /// <summary>Receives up to pkts.Length packets from an rx queue into pkts; returns how many.</summary>
    public abstract int RxBurst(int queue, Span<Packet> pkts);

    /// <summary>Sends packets on a tx queue; returns how many it accepted (they now belong to the port).</summary>
    public abstract int TxBurst(int queue, ReadOnlySpan<Packet> pkts);

    public void Configure(PortConfig config)
    {
        if (State == PortState.Started) throw new InvalidOperationException($"port {Id} ({Name}): stop it before configuring");
        var info = Info;
        if (config.RxQueues < 1 || config.RxQueues > info.MaxRxQueues)
            throw new PortConfigException($"port {Id} ({Name}): {config.RxQueues} rx queues requested, {info.DriverName} supports 1..{info.MaxRxQueues}");
        if (config.TxQueues < 1 || config.TxQueues > info.MaxTxQueues)
            throw new PortConfigException($"port {Id} ({Name}): {config.TxQueues} tx queues requested, {info.DriverName} supports 1..{info.MaxTxQueues}");
        foreach (int d in new[] { config.RxDescriptors, config.TxDescriptors })
            if (d < info.MinDescriptors || d > info.MaxDescriptors)
                throw new PortConfigException($"port {Id} ({Name}): {d} descriptors requested, {info.DriverName} supports {info.MinDescriptors}..{info.MaxDescriptors}");
        OnConfigure(config);
        _counters?.Dispose();
        _counters = new QueueCounterBlock(config.RxQueues, config.TxQueues);
        _baseline = PortStats.Empty;
        Config = config;
        State = PortState.Configured;
    }

    public void Start()
    {
        if (State == PortState.Started) return;
        if (Config is null) throw new InvalidOperationException($"port {Id} ({Name}): configure it before starting");
        OnStart();
        State = PortState.Started;
    }

    public void Stop()
    {
        if (State != PortState.Started) return;
        OnStop();
        State = PortState.Stopped;
    }

    protected abstract void OnConfigure(PortConfig config);
    protected virtual void OnStart() { }
    protected virtual void OnStop() { }
    protected virtual void OnClose() { }

    /// <summary>Counters the PMD updates from its rx/tx paths (one writer per queue).</summary>
    protected QueueCounterBlock Counters
    {
        // Read by every burst: the throw, with its message, lives in a call of its own so this inlines.
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => _counters ?? NotConfigured();
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    QueueCounterBlock NotConfigured() => throw new InvalidOperationException($"port {Id} ({Name}) is not configured");

    /// <summary>Driver-level counters folded into the totals (e.g. rx_nombuf, imissed).</summary>
    protected virtual void AddDeviceStats(ref ulong rxMissed, ref ulong rxNoMbuf) { }

    public PortStats GetStats() => RawStats().Minus(_baseline);

    PortStats RawStats()
    {
        if (_counters is null) return PortStats.Empty;
        var rx = new QueueCounters[_counters.RxQueues];
        var tx = new QueueCounters[_counters.TxQueues];
        for (int q = 0; q < rx.Length; q++) rx[q] = _counters.Rx(q);
        for (int q = 0; q < tx.Length; q++) tx[q] = _counters.Tx(q);
        ulong missed = 0, nombuf = 0;
        foreach (var q in rx) nombuf += q.Dropped;
        AddDeviceStats(ref missed, ref nombuf);
        return new PortStats
        {
            RxPackets = (ulong)rx.Sum(q => (decimal)q.Packets),
            RxBytes = (ulong)rx.Sum(q => (decimal)q.Bytes),
            RxErrors = (ulong)rx.Sum(q => (decimal)q.Errors),
            TxPackets = (ulong)tx.Sum(q => (decimal)q.Packets),
            TxBytes = (ulong)tx.Sum(q => (decimal)q.Bytes),
            TxErrors = (ulong)tx.Sum(q => (decimal)(q.Errors + q.Dropped)),
            RxMissed = missed,
            RxNoMbuf = nombuf,
            RxQueues = rx,
            TxQueues = tx,
        };
    }

    /// <summary>Zeroes what <see cref="GetStats"/> reports without racing the lcores that count.</summary>
    public void ResetStats() => _baseline = RawStats();

    /// <summary>Named counters (rte_eth_xstats): per-queue counters plus whatever the driver adds.</summary>
    public IReadOnlyList<KeyValuePair<string, ulong>> ExtendedStats()
    {
        var s = GetStats();
        var list = new List<KeyValuePair<string, ulong>>
        {
            new("rx_good_packets", s.RxPackets), new("tx_good_packets", s.TxPackets),
            new("rx_good_bytes", s.RxBytes), new("tx_good_bytes", s.TxBytes),
            new("rx_missed_errors", s.RxMissed), new("rx_errors", s.RxErrors),
            new("tx_errors", s.TxErrors), new("rx_mbuf_allocation_errors", s.RxNoMbuf),
        };
        for (int q = 0; q < s.RxQueues.Length; q++)
        {
            list.Add(new($"rx_q{q}_packets", s.RxQueues[q].Packets));
            list.Add(new($"rx_q{q}_bytes", s.RxQueues[q].Bytes));
            list.Add(new($"rx_q{q}_errors", s.RxQueues[q].Errors));
        }
        for (int q = 0; q < s.TxQueues.Length; q++)
        {
            list.Add(new($"tx_q{q}_packets", s.TxQueues[q].Packets));
            list.Add(new($"tx_q{q}_bytes", s.TxQueues[q].Bytes));
        }
        AddExtendedStats(list);
        return list;
    }

    /// <summary>Driver-specific named counters.</summary>
    protected virtual void AddExtendedStats(List<KeyValuePair<string, ulong>> stats) { }

    public void Close()
    {
        if (State == PortState.Closed) return;
        Stop();
        OnClose();
        _counters?.Dispose();
        _counters = null;
        State = PortState.Closed;
    }

    public void Dispose()
    {
        Close();
        GC.SuppressFinalize(this);
    }

    public override string ToString() => $"port {Id} ({Name}, {Info.DriverName})";
}

/// <summary>A port configuration the driver cannot take; the message says what it supports.</summary>
public sealed class PortConfigException(string message) : Exception(message);
