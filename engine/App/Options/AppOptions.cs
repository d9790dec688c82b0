using Datapath.Engine.Forwarding;

namespace Datapath.App.Options;

/// <summary>The application side of the command line (after `--`), as dpdk-testpmd takes it.</summary>
public sealed record AppOptions
{
    public bool Interactive { get; init; }
    public bool AutoStart { get; init; }
    /// <summary>--tx-first: send a first burst on every stream when forwarding starts.</summary>
    public bool TxFirst { get; init; }
    public string ForwardMode { get; init; } = "io";
    public int NbCores { get; init; }
    public int RxQueues { get; init; } = 1;
    public int TxQueues { get; init; } = 1;
    public int RxDescriptors { get; init; } = 1024;
    public int TxDescriptors { get; init; } = 1024;
    public int Burst { get; init; } = 32;
    public int[] TxPackets { get; init; } = [64];
    public int TotalMbufs { get; init; }
    public int StatsPeriod { get; init; }
    /// <summary>--stats-file: append port counters as JSON lines here.</summary>
    public string? StatsFile { get; init; }
    public PortTopology Topology { get; init; } = PortTopology.Paired;
    /// <summary>--record-burst-stats: count the bursts of each size per stream, shown with the forward statistics.</summary>
    public bool RecordBurstStats { get; init; }
    /// <summary>Stop after this many seconds (0 = until SIGINT/SIGTERM).</summary>
    public int RunSeconds { get; init; }

    public static readonly (string Option, string Arg, string Help)[] Help =
    [
        ("-i, --interactive", "", "interactive console (testpmd commands; 'help' lists them)"),
        ("-a, --auto-start", "", "with -i: start forwarding at once (after --, -a is this; before, -a is a PCI device)"),
        ("--tx-first", "", "send one burst on every stream at start (needed to seed loops)"),
        ("--forward-mode", "MODE", $"forwarding mode: {string.Join(", ", ForwardModes.Names)}"),
        ("--nb-cores", "N", "forwarding lcores to use (default: all workers)"),
        ("--rxq", "N", "rx queues per port"),
        ("--txq", "N", "tx queues per port"),
        ("--rxd", "N", "rx descriptors per queue"),
        ("--txd", "N", "tx descriptors per queue"),
        ("--burst", "N", $"packets per burst (1..{ForwardingConfig.MaxBurst})"),
        ("--txpkts", "N[,N]", "segment lengths of generated packets (txonly, flowgen)"),
        ("--total-num-mbufs", "N", "packet buffers in the pool"),
        ("--stats-period", "S", "print port statistics every S seconds (non-interactive)"),
        ("--stats-file", "PATH", "append port counters as JSON lines to PATH every stats period (default 1 s) and at exit"),
        ("--port-topology", "paired|chained|loop", "how ports pair up for forwarding"),
        ("--record-burst-stats", "", "count bursts by size per stream (RX-bursts/TX-bursts in the forward statistics)"),
        ("--run-seconds", "S", "stop after S seconds (default: until SIGINT/SIGTERM)"),
    ];

    public static AppOptions Parse(IReadOnlyList<string> args)
    {
        var o = new AppOptions();
        var reader = new ArgReader(args);
        while (reader.Next(out string opt, out string? inline))
        {
            o = opt switch
            {
                "-i" or "--interactive" => o with { Interactive = true },
                "-a" or "--auto-start" => o with { AutoStart = true },
                "--tx-first" => o with { TxFirst = true },
                "--forward-mode" => o with { ForwardMode = CheckMode(reader.Value(opt, inline)) },
                "--nb-cores" => o with { NbCores = reader.Int(opt, inline, 1, 127) },
                "--rxq" => o with { RxQueues = reader.Int(opt, inline, 1, 1024) },
                "--txq" => o with { TxQueues = reader.Int(opt, inline, 1, 1024) },
                "--rxd" => o with { RxDescriptors = reader.Int(opt, inline, 1, 65536) },
                "--txd" => o with { TxDescriptors = reader.Int(opt, inline, 1, 65536) },
                "--burst" => o with { Burst = reader.Int(opt, inline, 1, ForwardingConfig.MaxBurst) },
                "--txpkts" => o with { TxPackets = ParseTxPkts(reader.Value(opt, inline)) },
                "--total-num-mbufs" => o with { TotalMbufs = reader.Int(opt, inline, 64, 1 << 24) },
                "--stats-period" => o with { StatsPeriod = reader.Int(opt, inline, 0, 86400) },
                "--stats-file" => o with { StatsFile = reader.Value(opt, inline) },
                "--port-topology" => o with { Topology = reader.Value(opt, inline) switch
                {
                    "paired" => PortTopology.Paired,
                    "chained" => PortTopology.Chained,
                    "loop" => PortTopology.Loop,
                    var v => throw new UsageException($"--port-topology {v}: expected paired, chained or loop"),
                } },
                "--record-burst-stats" => o with { RecordBurstStats = true },
                "--run-seconds" => o with { RunSeconds = reader.Int(opt, inline, 1, 1 << 30) },
                _ => throw new UsageException(EalOptions.IsEalOption(opt)
                    ? $"{opt} is an EAL option: put it before -- (see --help)"
                    : $"unknown application option {opt} (see --help)"),
            };
        }
        return o;
    }

    /// <summary>Options this side takes, to tell a user who put one before `--` where it belongs.</summary>
    public static bool IsAppOption(string opt) => Help.Any(h => h.Option.Split(", ").Contains(opt)) && opt != "-a";

    static string CheckMode(string mode) =>
        ForwardModes.Names.Contains(mode) ? mode : throw new UsageException($"--forward-mode {mode}: unknown (modes: {string.Join(", ", ForwardModes.Names)})");

    public static int[] ParseTxPkts(string s)
    {
        var parts = s.Split(',');
        var lens = new int[parts.Length];
        for (int i = 0; i < parts.Length; i++)
            if (!int.TryParse(parts[i], out lens[i]) || lens[i] < 1 || lens[i] > 9600)
                throw new UsageException($"--txpkts {s}: '{parts[i]}' is not a segment length (1..9600)");
        if (lens.Sum() < 42) throw new UsageException($"--txpkts {s}: a frame needs at least 42 bytes (Ethernet + IPv4 + UDP headers)");
        return lens;
    }
}
