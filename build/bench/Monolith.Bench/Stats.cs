namespace Monolith.Bench;

internal static class Stats
{
    public static double Percentile(IReadOnlyList<double> sorted, double p)
    {
        if (sorted.Count == 0)
        {
            return double.NaN;
        }

        var rank = p / 100 * (sorted.Count - 1);
        var lower = (int)Math.Floor(rank);
        var upper = (int)Math.Ceiling(rank);
        return sorted[lower] + ((sorted[upper] - sorted[lower]) * (rank - lower));
    }

    public static string Summary(List<double> milliseconds)
    {
        milliseconds.Sort();
        return $"n={milliseconds.Count} p50={Percentile(milliseconds, 50):0.0} ms p95={Percentile(milliseconds, 95):0.0} ms max={milliseconds[^1]:0.0} ms";
    }
}
