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
        return w.ToString();
    }
}
