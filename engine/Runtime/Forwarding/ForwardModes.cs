namespace Datapath.Engine.Forwarding;

/// <summary>The forwarding modes by name (testpmd's fwd_engines[]): one row each.</summary>
public static class ForwardModes
{
    static readonly (string Name, string Summary, Func<ForwardMode> Create)[] Table =
    [
        ("io", "forward packets untouched", () => new IoMode()),
        ("rxonly", "receive and free", () => new RxOnlyMode()),
        ("txonly", "generate Ethernet/IPv4/UDP frames of --txpkts bytes", () => new TxOnlyMode()),
        ("mac", "set source MAC to the tx port's, destination to its peer's, and forward", () => new MacMode()),
        ("macswap", "swap source and destination MAC and forward", () => new MacSwapMode()),
        ("flowgen", "generate IPv4/UDP frames cycling through FlowCount destination addresses; drop what is received", () => new FlowGenMode()),
        ("icmpecho", "answer ARP requests and ICMP echo requests; drop the rest", () => new IcmpEchoMode()),
        ("csum", "check and recompute IPv4 and UDP/TCP checksums in software, rewrite MACs, forward", () => new CsumMode()),
    ];

    public static IEnumerable<string> Names => Table.Select(t => t.Name);

    public static IEnumerable<(string Name, string Summary)> Describe() => Table.Select(t => (t.Name, t.Summary));

    public static ForwardMode Create(string name)
    {
        foreach (var t in Table) if (t.Name == name) return t.Create();
        throw new ArgumentException($"unknown forwarding mode '{name}' (modes: {string.Join(", ", Names)})");
    }
}
