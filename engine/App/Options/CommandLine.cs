namespace Datapath.App.Options;

/// <summary>`datapath [EAL options] -- [application options]`, as dpdk-testpmd.</summary>
public sealed record CommandLine(EalOptions Eal, AppOptions App, bool ShowHelp)
{
    public static CommandLine Parse(string[] args)
    {
        if (args.Contains("--help") || args.Contains("-h")) return new CommandLine(new EalOptions(), new AppOptions(), true);
        int split = Array.IndexOf(args, "--");
        var eal = split < 0 ? args : args[..split];
        var app = split < 0 ? [] : args[(split + 1)..];
        return new CommandLine(EalOptions.Parse(eal), AppOptions.Parse(app), false);
    }

    public static string Usage()
    {
        var w = new StringWriter();
        w.WriteLine("usage: datapath [EAL options] -- [application options]");
        w.WriteLine();
        w.WriteLine("EAL options:");
        foreach (var (o, a, h) in EalOptions.Help) w.WriteLine($"  {(o + " " + a).PadRight(30)} {h}");
        w.WriteLine();
        w.WriteLine("Application options:");
        foreach (var (o, a, h) in AppOptions.Help) w.WriteLine($"  {(o + " " + a).PadRight(30)} {h}");
        w.WriteLine();
        w.WriteLine("Examples:");
        w.WriteLine("  datapath -l 0-1 --vdev net_ring0 --vdev net_ring1,peer=net_ring0 -- --forward-mode=io --tx-first --stats-period 1");
        w.WriteLine("  datapath --lcores '0@0,1@1' --vdev net_null0 -- -i --auto-start      (then: show port stats all, stop, quit)");
        w.WriteLine("  datapath -l 0-1 --vdev net_ring0 -- --stats-file /tmp/stats.jsonl   (one JSON line of counters per second)");
        return w.ToString();
    }
}
