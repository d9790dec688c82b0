using Datapath.Engine.Lcores;
using Datapath.Engine.Net;
using Datapath.Engine.Packets;
using Datapath.Engine.Ports;

namespace Datapath.Engine.Forwarding;

/// <summary>
/// Builds streams from the ports and topology, spreads them over the forwarding lcores, and runs
/// the mode on each lcore until stopped (testpmd's start/stop). Each lcore polls its own streams
/// in a loop that reads one stop flag per pass and nothing else shared.
/// </summary>
public sealed class ForwardingEngine
{
    readonly PortTable _ports;
    readonly LcoreSet _lcores;
    readonly List<ForwardLcore> _fwdLcores = new();
    volatile bool _stop;

    public ForwardingConfig Config { get; private set; }
    public ForwardMode Mode { get; private set; }
    public IReadOnlyList<ForwardStream> Streams { get; private set; } = [];
    public IReadOnlyList<ForwardLcore> Lcores => _fwdLcores;
    public bool Running { get; private set; }

    public ForwardingEngine(PortTable ports, LcoreSet lcores, ForwardingConfig config)
    {
        _ports = ports;
        _lcores = lcores;
        Config = config;
        Mode = ForwardModes.Create(config.Mode);
    }

    /// <summary>Changes the configuration (set fwd, set burst, set nbcore …); only while stopped.</summary>
    public void Reconfigure(ForwardingConfig config)
    {
        if (Running) throw new InvalidOperationException("stop forwarding first");
        var mode = ForwardModes.Create(config.Mode);
        Config = config;
        Mode = mode;
    }

    /// <summary>The streams and their lcores for the current ports (testpmd fwd_config_setup).</summary>
    public void BuildStreams()
    {
        if (Config.BurstSize < 1 || Config.BurstSize > ForwardingConfig.MaxBurst)
            throw new ArgumentException($"burst {Config.BurstSize} out of range (1..{ForwardingConfig.MaxBurst})");
        var workers = _lcores.WorkerLcores.ToList();
        if (workers.Count == 0)
            throw new ArgumentException("forwarding needs a worker lcore besides the main one: e.g. -l 0-1 or --lcores '0@0,1@1'");
        int cores = Config.Cores == 0 ? workers.Count : Config.Cores;
        if (cores > workers.Count)
            throw new ArgumentException($"--nb-cores {cores} is more than the {workers.Count} worker lcore(s) given");
        if (_ports.Count == 0) throw new ArgumentException("no ports: add one with --vdev (e.g. --vdev net_ring0)");

        var streams = new List<ForwardStream>();
        int n = _ports.Count;
        for (int p = 0; p < n; p++)
        {
            int peer = Config.Topology switch
            {
                PortTopology.Paired => (p ^ 1) < n ? p ^ 1 : p,
                PortTopology.Chained => (p + 1) % n,
                _ => p,
            };
            Port rx = _ports[p], tx = _ports[peer];
            int rxq = rx.Config?.RxQueues ?? throw new InvalidOperationException($"{rx} is not configured");
            int txq = tx.Config?.TxQueues ?? throw new InvalidOperationException($"{tx} is not configured");
            for (int q = 0; q < rxq; q++)
                streams.Add(new ForwardStream(streams.Count, rx, q, tx, q % txq)
                {
                    TxRetries = Config.TxRetry ? Config.TxRetryCount : 0,
                    TxRetryDelayTicks = Config.TxRetryDelayMicroseconds * System.Diagnostics.Stopwatch.Frequency / 1_000_000,
                    RxBurstSpread = Config.RecordBurstStats ? new BurstSpread() : null,
                    TxBurstSpread = Config.RecordBurstStats ? new BurstSpread() : null,
                });
        }

        // Contiguous blocks of streams per lcore, as testpmd's rss/simple config.
        _fwdLcores.Clear();
        int used = Math.Min(cores, streams.Count);
        for (int i = 0; i < used; i++)
        {
            int lo = streams.Count * i / used, hi = streams.Count * (i + 1) / used;
            var mine = streams.GetRange(lo, hi - lo).ToArray();
            foreach (var s in mine) s.Lcore = workers[i];
            _fwdLcores.Add(new ForwardLcore(workers[i], mine, Config.BurstSize));
        }
        Streams = streams;
    }

    ForwardingContext Context() => new()
    {
        Ports = _ports,
        Streams = Streams,
        BurstSize = Config.BurstSize,
        TxPacketSegments = Config.TxPacketSegments,
        PeerMacs = Enumerable.Range(0, _ports.Count).Select(MacAddress.Local).ToList(),
        FlowCount = Config.FlowCount,
    };

    /// <summary>
    /// Starts forwarding. With <paramref name="txFirstBursts"/> &gt; 0, first sends that many bursts of
    /// generated packets on every stream (testpmd `start tx_first n`) so that loops have traffic.
    /// </summary>
    public void Start(int txFirstBursts = 0)
    {
        if (Running) throw new InvalidOperationException("forwarding is already running");
        BuildStreams();
        if (txFirstBursts > 0)
        {
            var gen = ForwardModes.Create("txonly");
            gen.Prepare(Context());
            var burst = new Packet[Config.BurstSize];
            for (int b = 0; b < txFirstBursts; b++)
                foreach (var s in Streams) gen.Run(s, burst);
        }
        Mode.Prepare(Context());
        _stop = false;
        foreach (var l in _fwdLcores)
        {
            var lcore = l;
            _lcores.Launch(lcore.Id, () => Loop(lcore));
        }
        Running = true;
    }

    void Loop(ForwardLcore lcore)
    {
        var mode = Mode;
        var streams = lcore.Streams;
        Span<Packet> burst = lcore.Burst.AsSpan(0, Config.BurstSize);
        lcore.PublishAllocated();
        long pass = 0;
        while (!_stop)
        {
            for (int i = 0; i < streams.Length; i++) mode.Run(streams[i], burst);
            // Allocation probe for the zero-allocation test: reading a thread-local counter, not allocating.
            if ((++pass & 1023) == 0) lcore.PublishAllocated();
        }
        lcore.PublishAllocated();
    }

    public void Stop()
    {
        if (!Running) return;
        _stop = true;
        foreach (var l in _fwdLcores) _lcores.Wait(l.Id);
        Running = false;
    }

    /// <summary>Per-stream counters summed (testpmd's "Accumulated forward statistics for all ports").</summary>
    public StreamCounters Totals()
    {
        var t = new StreamCounters();
        foreach (var s in Streams)
        {
            var c = s.Snapshot();
            t.RxPackets += c.RxPackets; t.TxPackets += c.TxPackets; t.Dropped += c.Dropped;
            t.BadIpChecksum += c.BadIpChecksum; t.BadL4Checksum += c.BadL4Checksum;
            t.RxBursts += c.RxBursts; t.TxBursts += c.TxBursts; t.Ignored += c.Ignored;
        }
        return t;
    }

    public void ResetCounters()
    {
        foreach (var s in Streams) s.ResetCounters();
    }
}

/// <summary>One forwarding lcore: its streams and its burst array, allocated before it starts.</summary>
public sealed class ForwardLcore(int id, ForwardStream[] streams, int burst)
{
    long _allocated;

    public int Id { get; } = id;
    public ForwardStream[] Streams { get; } = streams;
    public Packet[] Burst { get; } = new Packet[Math.Max(burst, ForwardingConfig.MaxBurst)];

    /// <summary>Managed bytes this lcore's thread has allocated so far (updated every 1024 passes).</summary>
    public long AllocatedBytes => Volatile.Read(ref _allocated);

    internal void PublishAllocated() => Volatile.Write(ref _allocated, GC.GetAllocatedBytesForCurrentThread());
}
