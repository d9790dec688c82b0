using Datapath.Engine.Net;

namespace Datapath.App.Running;

/// <summary>`show config fwd|rxtx|cores` in testpmd's layout (also printed on start and in the banner).</summary>
public static class ConfigDisplay
{
    public static void Fwd(TextWriter w, EngineHost host)
    {
        var f = host.Forwarding;
        w.WriteLine($"{f.Mode.Name} packet forwarding - ports={host.Ports.Count} - cores={f.Lcores.Count} - streams={f.Streams.Count} - NUMA support disabled, MP allocation mode: native");
        foreach (var l in f.Lcores)
        {
            w.WriteLine($"Logical Core {l.Id} (socket 0) forwards packets on {l.Streams.Length} streams:");
            foreach (var s in l.Streams)
                w.WriteLine($"  {s} peer={MacAddress.Local(s.TxPort.Id)}");
        }
        w.WriteLine();
    }

    public static void RxTx(TextWriter w, EngineHost host)
    {
        var f = host.Forwarding;
        var c = f.Config;
        w.WriteLine($"  {f.Mode.Name} packet forwarding packets/burst={c.BurstSize}");
        if (f.Mode.Name is "txonly" or "flowgen")
            w.WriteLine($"  packet len={c.TxPacketSegments.Sum()} - nb packet segments={c.TxPacketSegments.Length}");
        w.WriteLine($"  nb forwarding cores={f.Lcores.Count} - nb forwarding ports={host.Ports.Count}");
        foreach (var p in host.Ports.All)
        {
            var pc = p.Config;
            if (pc is null) continue;
            w.WriteLine($"  port {p.Id}: RX queue number: {pc.RxQueues} Tx queue number: {pc.TxQueues}");
            w.WriteLine("    Rx offloads=0x0 Tx offloads=0x0");
            for (int q = 0; q < pc.RxQueues; q++)
            {
                w.WriteLine($"    RX queue: {q}");
                w.WriteLine($"      RX desc={pc.RxDescriptors} - RX free threshold=0");
            }
            for (int q = 0; q < pc.TxQueues; q++)
            {
                w.WriteLine($"    TX queue: {q}");
                w.WriteLine($"      TX desc={pc.TxDescriptors} - TX free threshold=0");
            }
        }
    }

    public static void Cores(TextWriter w, EngineHost host)
    {
        w.Write("List of forwarding lcores:");
        foreach (var l in host.Forwarding.Lcores) w.Write($" {l.Id,2}");
        w.WriteLine();
    }
}
