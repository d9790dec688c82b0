namespace Datapath.Engine.Ports;

/// <summary>
/// A device string as DPDK's --vdev takes it: `net_vhost0,iface=/tmp/vhost0.sock,queues=2`.
/// The name comes first; then key=value pairs. Getters check values and say what is wrong.
/// </summary>
public sealed class DeviceArgs
{
    readonly List<KeyValuePair<string, string>> _pairs;

    public string Name { get; }
    public IReadOnlyList<KeyValuePair<string, string>> Pairs => _pairs;

    DeviceArgs(string name, List<KeyValuePair<string, string>> pairs) { Name = name; _pairs = pairs; }

    public static DeviceArgs Parse(string spec)
    {
        string[] parts = spec.Split(',');
        string name = parts[0].Trim();
        if (name.Length == 0) throw new DeviceArgsException($"device '{spec}': no name (expected e.g. net_ring0,key=value)");
        var pairs = new List<KeyValuePair<string, string>>();
        foreach (string part in parts.Skip(1))
        {
            if (part.Length == 0) continue;
            int eq = part.IndexOf('=');
            if (eq <= 0) throw new DeviceArgsException($"{name}: '{part}' is not key=value");
            string key = part[..eq].Trim();
            if (pairs.Any(p => p.Key == key)) throw new DeviceArgsException($"{name}: key '{key}' is given twice");
            pairs.Add(new(key, part[(eq + 1)..].Trim()));
        }
        return new DeviceArgs(name, pairs);
    }

    public bool Has(string key) => _pairs.Any(p => p.Key == key);

    public string? GetString(string key) => _pairs.FirstOrDefault(p => p.Key == key).Value;

    public string GetString(string key, string defaultValue) => GetString(key) ?? defaultValue;

    public string Require(string key, string example) =>
        GetString(key) is { Length: > 0 } v ? v : throw new DeviceArgsException($"{Name}: '{key}' is required (e.g. {Name},{key}={example})");

    public long GetInt(string key, long defaultValue, long min, long max)
    {
        string? v = GetString(key);
        if (v is null) return defaultValue;
        if (!long.TryParse(v, out long n)) throw new DeviceArgsException($"{Name}: {key}={v} is not a number");
        if (n < min || n > max) throw new DeviceArgsException($"{Name}: {key}={v} is out of range ({min}..{max})");
        return n;
    }

    public bool GetBool(string key, bool defaultValue)
    {
        string? v = GetString(key);
        return v switch
        {
            null => defaultValue,
            "1" or "true" or "on" or "yes" => true,
            "0" or "false" or "off" or "no" => false,
            _ => throw new DeviceArgsException($"{Name}: {key}={v} must be 0 or 1"),
        };
    }

    /// <summary>Rejects any key the driver does not know, naming the ones it does.</summary>
    public void CheckKeys(IReadOnlyCollection<string> known)
    {
        foreach (var p in _pairs)
            if (!known.Contains(p.Key))
                throw new DeviceArgsException($"{Name}: unknown key '{p.Key}' (valid: {(known.Count == 0 ? "none" : string.Join(", ", known))})");
    }

    public override string ToString() => _pairs.Count == 0 ? Name : Name + "," + string.Join(",", _pairs.Select(p => $"{p.Key}={p.Value}"));
}

/// <summary>A bad device string; the message names the device, the key and what is allowed.</summary>
public sealed class DeviceArgsException(string message) : Exception(message);
