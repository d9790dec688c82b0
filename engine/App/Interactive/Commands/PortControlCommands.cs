using Datapath.Engine.Ports;

namespace Datapath.App.Interactive.Commands;

/// <summary>port start|stop|close and set promisc: port state changes, refused while forwarding.</summary>
public static class PortControlCommands
{
    public static IEnumerable<CommandSpec> All() =>
    [
        new("port start <port>", "start a stopped port", (ctx, a) => Change(ctx, a, "Starting", Start)),
        new("port stop <port>", "stop a port (forwarding must be stopped)", (ctx, a) => Change(ctx, a, "Stopping", (c, p) => p.Stop())),
        new("port close <port>", "close a port for good", (ctx, a) => Change(ctx, a, "Closing", Close)),
        new("set promisc <port> on|off", "promiscuous mode on or off", Promisc),
    ];

    static void Change(CommandContext ctx, CommandArgs a, string verb, Action<CommandContext, Port> change)
    {
        ctx.RequireStopped();
        var ports = ctx.Ports(a.Port(2)).ToList();
        ctx.Out.WriteLine($"{verb} ports...");
        foreach (var p in ports) change(ctx, p);
        ctx.Out.WriteLine("Done");
    }

    static void Start(CommandContext ctx, Port p)
    {
        if (p.State == PortState.Closed) throw new InvalidOperationException($"Port {p.Id} is closed: it cannot be started again");
        p.Start();
        ctx.Out.WriteLine($"Port {p.Id}: {p.Info.Mac}");
    }

    static void Close(CommandContext ctx, Port p)
    {
        p.Close();
        ctx.Out.WriteLine($"Port {p.Id} is closed");
    }

    static void Promisc(CommandContext ctx, CommandArgs a)
    {
        bool on = a[3] == "on";
        foreach (var p in ctx.Ports(a.Port(2))) p.Promiscuous = on;
    }
}
