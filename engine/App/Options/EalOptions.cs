using Datapath.Hugepages;

namespace Datapath.App.Options;

/// <summary>The EAL side of the command line (before `--`), as dpdk-testpmd takes it.</summary>
public sealed record EalOptions
{
    public string? CoreList { get; init; }
    public string? LcoresMap { get; init; }
    public List<string> Vdevs { get; init; } = new();
    public List<string> AllowedPci { get; init; } = new();
    public bool NoHuge { get; init; }
    public string? HugeDir { get; init; }
    public IovaMode IovaMode { get; init; } = IovaMode.Va;
    public string FilePrefix { get; init; } = "datapath";
    /// <summary>-m: memory to reserve in MiB (0 = as the pools need).</summary>
    public int MemoryMb { get; init; }

    /// <summary>
    /// The memory options; with --huge-dir the page size is the mount's (how DPDK picks 1 GiB pages:
    /// mount -t hugetlbfs -o pagesize=1G nodev /mnt/huge1g).
    /// </summary>
    public MemoryOptions Memory
    {
        get
        {
            ulong pageSize = MemoryOptions.Page2M;
            if (HugeDir is not null && !NoHuge)
            {
                string dir = Path.TrimEndingDirectorySeparator(Path.GetFullPath(HugeDir));
                var mount = HugepageInventory.Mounts().FirstOrDefault(m => m.Path == dir);
                if (mount.Path is null) throw new UsageException($"--huge-dir {HugeDir}: not a hugetlbfs mount (mount -t hugetlbfs nodev {HugeDir}, as root)");
                pageSize = mount.PageSize;
            }
            return new MemoryOptions
            {
                NoHuge = NoHuge,
                HugeDir = HugeDir,
                HugepageSize = pageSize,
                IovaMode = IovaMode,
                FilePrefix = FilePrefix,
                LimitBytes = (ulong)MemoryMb << 20,
            };
        }
    }

    public static readonly (string Option, string Arg, string Help)[] Help =
    [
        ("-l", "CORELIST", "lcores to run on, lcore i on CPU i: 0-3, 0,2 (the first is the main lcore)"),
        ("--lcores", "MAP", "lcore to CPU map: '0@0,1@1' or '(0,1)@(2,3)'"),
        ("--vdev", "DEVICE", "add a virtual device: 'net_ring0', 'net_null0,size=64'"),
        ("-a, --allow", "PCI", "allow a PCI device (0000:00:04.0); after --, -a means --auto-start"),
        ("--no-huge", "", "use 4 KiB pages (memfd + mlock) instead of hugepages"),
        ("--huge-dir", "DIR", "hugetlbfs mount to allocate from (default: memfd, no files)"),
        ("--iova-mode", "va|pa", "addresses devices see: virtual (IOMMU, vhost-user) or physical (vfio-noiommu)"),
        ("--file-prefix", "NAME", "names this process's memory, so several can run side by side"),
        ("-m", "MB", "memory to reserve up front, in MiB"),
    ];

    public static bool IsEalOption(string opt) => Help.Any(h => h.Option.Split(", ").Contains(opt));

    /// <summary>Parses arguments before `--`.</summary>
    public static EalOptions Parse(IReadOnlyList<string> args)
    {
        var o = new EalOptions();
        var reader = new ArgReader(args);
        while (reader.Next(out string opt, out string? inline))
        {
            o = opt switch
            {
                "-l" => o with { CoreList = reader.Value(opt, inline) },
                "--lcores" => o with { LcoresMap = reader.Value(opt, inline) },
                "--vdev" => Add(o, o.Vdevs, reader.Value(opt, inline)),
                "-a" or "--allow" => Add(o, o.AllowedPci, reader.Value(opt, inline)),
                "--no-huge" => o with { NoHuge = true },
                "--huge-dir" => o with { HugeDir = reader.Value(opt, inline) },
                "--iova-mode" => o with { IovaMode = reader.Value(opt, inline) switch
                {
                    "va" => IovaMode.Va,
                    "pa" => IovaMode.Pa,
                    var v => throw new UsageException($"--iova-mode {v}: expected va or pa"),
                } },
                "--file-prefix" => o with { FilePrefix = reader.Value(opt, inline) },
                "-m" => o with { MemoryMb = reader.Int(opt, inline, 1, 1 << 20) },
                "--no-pci" or "--no-shconf" or "--in-memory" => o,
                _ => throw new UsageException(AppOptions.IsAppOption(opt)
                    ? $"{opt} is an application option: put it after -- (datapath [EAL options] -- {opt} ...)"
                    : $"unknown EAL option {opt} (see --help)"),
            };
        }
        if (o.CoreList is not null && o.LcoresMap is not null) throw new UsageException("give -l or --lcores, not both");
        return o;
    }

    static EalOptions Add(EalOptions o, List<string> list, string value)
    {
        list.Add(value);
        return o;
    }
}
