namespace Datapath.Hugepages;

/// <summary>What the machine offers: hugepages per size (sysfs) and hugetlbfs mounts (/proc/mounts).</summary>
public static class HugepageInventory
{
    public readonly record struct PageCount(ulong PageSize, long Total, long Free);

    public readonly record struct HugetlbfsMount(string Path, ulong PageSize);

    public const string SysfsDir = "/sys/kernel/mm/hugepages";

    public static IReadOnlyList<PageCount> Pages()
    {
        var result = new List<PageCount>();
        if (!Directory.Exists(SysfsDir)) return result;
        foreach (string dir in Directory.GetDirectories(SysfsDir, "hugepages-*kB"))
        {
            string kb = Path.GetFileName(dir)["hugepages-".Length..^"kB".Length];
            if (!ulong.TryParse(kb, out ulong k)) continue;
            result.Add(new PageCount(k * 1024, ReadLong(Path.Combine(dir, "nr_hugepages")), ReadLong(Path.Combine(dir, "free_hugepages"))));
        }
        result.Sort((a, b) => a.PageSize.CompareTo(b.PageSize));
        return result;
    }

    public static long FreePages(ulong pageSize)
    {
        foreach (var p in Pages()) if (p.PageSize == pageSize) return p.Free;
        return 0;
    }

    public static IReadOnlyList<HugetlbfsMount> Mounts()
    {
        var result = new List<HugetlbfsMount>();
        foreach (string line in File.ReadLines("/proc/mounts"))
        {
            string[] f = line.Split(' ');
            if (f.Length < 4 || f[2] != "hugetlbfs") continue;
            ulong size = MemoryOptions.Page2M;
            foreach (string opt in f[3].Split(','))
                if (opt.StartsWith("pagesize=", StringComparison.Ordinal)) size = ParseSize(opt["pagesize=".Length..]);
            result.Add(new HugetlbfsMount(f[1], size));
        }
        return result;
    }

    /// <summary>The one line a user needs when there are too few hugepages of a size.</summary>
    public static string ShortageMessage(ulong pageSize, long needed, long free)
    {
        string size = FormatSize(pageSize);
        string sys = pageSize == MemoryOptions.Page2M
            ? "echo 512 > /proc/sys/vm/nr_hugepages"
            : $"echo {Math.Max(needed, 1)} > {SysfsDir}/hugepages-{pageSize / 1024}kB/nr_hugepages";
        return free == 0
            ? $"no hugepages: need {needed} x {size}, none free: {sys} (as root), or run with --no-huge"
            : $"not enough hugepages: need {needed} x {size}, {free} free: {sys} (as root), or run with --no-huge";
    }

    public static string FormatSize(ulong bytes) => bytes switch
    {
        >= 1UL << 30 when bytes % (1UL << 30) == 0 => $"{bytes >> 30} GiB",
        >= 1UL << 20 when bytes % (1UL << 20) == 0 => $"{bytes >> 20} MiB",
        >= 1UL << 10 when bytes % (1UL << 10) == 0 => $"{bytes >> 10} KiB",
        _ => $"{bytes} B",
    };

    /// <summary>Parses "2M", "1G", "2048k", "4096".</summary>
    public static ulong ParseSize(string s)
    {
        s = s.Trim();
        if (s.Length == 0) throw new FormatException("empty size");
        ulong mult = char.ToUpperInvariant(s[^1]) switch { 'K' => 1UL << 10, 'M' => 1UL << 20, 'G' => 1UL << 30, _ => 1 };
        string digits = mult == 1 ? s : s[..^1];
        if (!ulong.TryParse(digits, out ulong n)) throw new FormatException($"bad size '{s}'");
        return n * mult;
    }

    static long ReadLong(string path)
    {
        try { return long.Parse(File.ReadAllText(path).Trim()); }
        catch (IOException) { return 0; }
        catch (UnauthorizedAccessException) { return 0; }
    }
}
