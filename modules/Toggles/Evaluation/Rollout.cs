namespace Monolith.Toggles.Evaluation;

/// <summary>
/// Percentage rollout by project id: a project's bucket (0–99) is a hash of the toggle key and the project
/// id, so it is sticky (the same project stays in or out while the percentage stays), independent between
/// toggles, and monotonic (raising the percentage only adds projects). FNV-1a over the key's UTF-16 code
/// units and the id's 16 bytes: stable across processes and versions, no allocation.
/// </summary>
internal static class Rollout
{
    public const string Variant = "rollout";

    private const uint OffsetBasis = 2166136261;
    private const uint Prime = 16777619;

    public static bool IsIn(string key, Guid projectId, int percent) => Bucket(key, projectId) < percent;

    public static int Bucket(string key, Guid projectId)
    {
        var hash = OffsetBasis;
        foreach (var c in key)
        {
            hash = (hash ^ (byte)c) * Prime;
            hash = (hash ^ (byte)(c >> 8)) * Prime;
        }

        Span<byte> bytes = stackalloc byte[16];
        projectId.TryWriteBytes(bytes, bigEndian: true, out _);
        foreach (var b in bytes)
        {
            hash = (hash ^ b) * Prime;
        }

        // Final avalanche (murmur3 fmix32) so neighbouring ids spread evenly over the buckets.
        hash ^= hash >> 16;
        hash *= 0x85ebca6b;
        hash ^= hash >> 13;
        hash *= 0xc2b2ae35;
        hash ^= hash >> 16;
        return (int)(hash % 100);
    }
}
