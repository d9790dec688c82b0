using Datapath.App.Running;
using Datapath.Engine.Ports;

namespace Datapath.App.Interactive.Commands;

/// <summary>show port info|summary|stats|xstats and clear port stats|xstats, in testpmd's layouts.</summary>
public static class PortShowCommands
{
    public static IEnumerable<CommandSpec> All() =>
    [
        new("show port info <port>", "what a port is: driver, MAC, link, queues, limits", (ctx, a) => Each(ctx, a, Info)),
        new("show port summary <port>", "one line per port: MAC, name, driver, status, link", Summary),
        new("show port stats <port> [json]", "NIC statistics and throughput since the last show; 'json' for one JSON line", Stats),
        new("show port xstats <port>", "named extended statistics", (ctx, a) => Each(ctx, a, XStats)),
        new("clear port stats <port>", "zero a port's statistics", (ctx, a) => Each(ctx, a, (c, p) => Clear(c, p, "statistics"))),
        new("clear port xstats <port>", "zero a port's extended statistics", (ctx, a) => Each(ctx, a, (c, p) => Clear(c, p, "extended statistics"))),
    ];

    static void Each(CommandContext ctx, CommandArgs a, Action<CommandContext, Port> show)
    {
        foreach (var p in ctx.Ports(a.Port(3))) show(ctx, p);
    }

    static string Speed(LinkStatus l) => l.SpeedMbps >= 1000 && l.SpeedMbps % 1000 == 0 ? $"{l.SpeedMbps / 1000} Gbps" : $"{l.SpeedMbps} Mbps";

    static void Info(CommandContext ctx, Port p)
    {
        var w = ctx.Out;
        var i = p.Info;
        var link = p.Link;
        w.WriteLine();
        w.WriteLine($"********************* Infos for port {p.Id,-2} *********************");
        w.WriteLine($"MAC address: {i.Mac}");
        w.WriteLine($"Device name: {i.DeviceName}");
        w.WriteLine($"Driver name: {i.DriverName}");
        w.WriteLine("Firmware-version: not available");
        w.WriteLine("Connect to socket: 0");
        w.WriteLine("memory allocation on the socket: 0");
        w.WriteLine($"Link status: {(link.Up ? "up" : "down")}");
        w.WriteLine($"Link speed: {(link.Up ? Speed(link) : "None")}");
        w.WriteLine($"Link duplex: {(link.FullDuplex ? "full-duplex" : "half-duplex")}");
        w.WriteLine($"MTU: {i.Mtu}");
        w.WriteLine($"Promiscuous mode: {(p.Promiscuous ? "enabled" : "disabled")}");
        w.WriteLine($"Port state: {p.State.ToString().ToLowerInvariant()}");
        w.WriteLine($"Maximum configurable length of RX packet: {i.MaxMtu + 18}");
        w.WriteLine($"Current number of RX queues: {p.Config?.RxQueues ?? 0}");
        w.WriteLine($"Max possible RX queues: {i.MaxRxQueues}");
        w.WriteLine($"Max possible number of RXDs per queue: {i.MaxDescriptors}");
        w.WriteLine($"Min possible number of RXDs per queue: {i.MinDescriptors}");
        w.WriteLine($"Current number of TX queues: {p.Config?.TxQueues ?? 0}");
        w.WriteLine($"Max possible TX queues: {i.MaxTxQueues}");
        w.WriteLine($"Max possible number of TXDs per queue: {i.MaxDescriptors}");
        w.WriteLine($"Min possible number of TXDs per queue: {i.MinDescriptors}");
        w.WriteLine($"Capabilities: {i.Capabilities}");
    }

    static void Summary(CommandContext ctx, CommandArgs a)
    {
        var w = ctx.Out;
        w.WriteLine($"Number of available ports: {ctx.Host.Ports.Count}");
        w.WriteLine($"{"Port",-4} {"MAC Address",-17} {"Name",-12} {"Driver",-14} {"Status",-8} Link");
        foreach (var p in ctx.Ports(a.Port(3)))
        {
            var link = p.Link;
            w.WriteLine($"{p.Id,-4} {p.Info.Mac} {p.Name,-12} {p.Info.DriverName,-14} {(link.Up ? "up" : "down"),-8} {(link.Up ? Speed(link) : "None")}");
        }
    }

    static void Stats(CommandContext ctx, CommandArgs a)
    {
        var ports = ctx.Ports(a.Port(3)).ToList();
        if (a.Has(4))
        {
            ctx.Out.WriteLine(StatsJson.Line(ports, DateTime.UtcNow));
            return;
        }
        foreach (var p in ports) ctx.Stats.PrintPortStats(ctx.Out, p);
    }

    static void XStats(CommandContext ctx, Port p)
    {
        ctx.Out.WriteLine($"###### NIC extended statistics for port {p.Id,-2}");
        foreach (var (name, value) in p.ExtendedStats()) ctx.Out.WriteLine($"{name}: {value}");
    }

    static void Clear(CommandContext ctx, Port p, string what)
    {
        // The extended counters are derived from the basic ones, so either clear zeroes both.
        p.ResetStats();
        ctx.Out.WriteLine();
        ctx.Out.WriteLine($"  NIC {what} for port {p.Id} cleared");
    }
}
