using System.Text.Json;
using Datapath.Tests.Support;

namespace Datapath.Tests.App;

/// <summary>`--stats-file`: the non-interactive engine leaves JSON lines a script can read while it runs.</summary>
public class StatsFileTests
{
    [Fact]
    public void JsonLinesParseAndCountersIncrease()
    {
        string path = Path.Combine(Path.GetTempPath(), $"datapath-stats-{Guid.NewGuid():N}.jsonl");
        try
        {
            using var p = ChildProcess.Datapath("--lcores", "0@0,1@1", "--vdev", "net_ring0", "--vdev", "net_ring1,peer=net_ring0",
                "--", "--tx-first", "--stats-file", path);
            // Wait for three periodic lines (one a second), then stop it as a user would.
            var until = DateTime.UtcNow.AddSeconds(90);
            while (DateTime.UtcNow < until && (!File.Exists(path) || File.ReadAllLines(path).Length < 3) && !p.HasExited) Thread.Sleep(200);
            p.Signal(2);
            Assert.True(p.WaitForExit(TimeSpan.FromSeconds(60)), p.Stdout);
            Assert.Equal(0, p.ExitCode);

            var lines = File.ReadAllLines(path);
            Assert.True(lines.Length >= 4, $"{lines.Length} lines\n{p.Stdout}\n{p.Stderr}"); // three periodic, one at exit
            var rx = new List<ulong>();
            DateTime last = DateTime.MinValue;
            foreach (string line in lines)
            {
                using var doc = JsonDocument.Parse(line);
                var root = doc.RootElement;
                var at = root.GetProperty("timestamp").GetDateTime();
                Assert.True(at >= last);
                last = at;
                var ports = root.GetProperty("ports");
                Assert.Equal(2, ports.GetArrayLength());
                Assert.Equal(0, ports[0].GetProperty("port_id").GetInt32());
                Assert.Equal("net_ring", ports[1].GetProperty("driver").GetString());
                foreach (string key in new[] { "rx_packets", "tx_packets", "rx_bytes", "tx_bytes", "rx_missed", "rx_errors", "tx_errors", "rx_nombuf" })
                    ports[0].GetProperty(key).GetUInt64();
                rx.Add(ports[0].GetProperty("rx_packets").GetUInt64());
            }
            for (int i = 1; i < rx.Count; i++) Assert.True(rx[i] >= rx[i - 1], string.Join(",", rx));
            Assert.True(rx[^1] > rx[0], string.Join(",", rx));
        }
        finally
        {
            File.Delete(path);
        }
    }
}
