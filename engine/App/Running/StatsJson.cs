using System.Text;
using System.Text.Json;
using Datapath.Engine.Ports;

namespace Datapath.App.Running;

/// <summary>
/// Port counters as one line of JSON, for scripts and dashboards: the same object from
/// `show port stats all json` and from each line of `--stats-file`.
/// {"timestamp":"…Z","ports":[{"port_id":0,"name":"net_ring0","driver":"net_ring","link_up":true,"rx_packets":…,"xstats":{…}},…]}
/// </summary>
public static class StatsJson
{
    public static string Line(IEnumerable<Port> ports, DateTime utcNow)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteString("timestamp", utcNow.ToString("yyyy-MM-ddTHH:mm:ss.fffZ"));
            w.WriteStartArray("ports");
            foreach (var p in ports) WritePort(w, p);
            w.WriteEndArray();
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    static void WritePort(Utf8JsonWriter w, Port p)
    {
        var s = p.GetStats();
        w.WriteStartObject();
        w.WriteNumber("port_id", p.Id);
        w.WriteString("name", p.Name);
        w.WriteString("driver", p.Info.DriverName);
        w.WriteBoolean("link_up", p.Link.Up);
        w.WriteNumber("rx_packets", s.RxPackets);
        w.WriteNumber("tx_packets", s.TxPackets);
        w.WriteNumber("rx_bytes", s.RxBytes);
        w.WriteNumber("tx_bytes", s.TxBytes);
        w.WriteNumber("rx_missed", s.RxMissed);
        w.WriteNumber("rx_errors", s.RxErrors);
        w.WriteNumber("tx_errors", s.TxErrors);
        w.WriteNumber("rx_nombuf", s.RxNoMbuf);
        w.WriteStartObject("xstats");
        foreach (var (name, value) in p.ExtendedStats()) w.WriteNumber(name, value);
        w.WriteEndObject();
        w.WriteEndObject();
    }
}
