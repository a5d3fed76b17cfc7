using System.Diagnostics;
using Microsoft.EntityFrameworkCore;

namespace Monolith.Bench;

/// <summary>
/// What a compiled EF Core model would save (docs/adr/0036): in this fresh process, how long each module's DbContext
/// takes to build its model the first time it is used, and a second context of the same type (the model is cached
/// per process, not per tenant or request). Needs no database: the model is built without a connection.
/// </summary>
internal static class EfModelBench
{
    private static readonly string[] Modules = ["Monolith.Access", "Monolith.Customers", "Monolith.Auditing", "Monolith.Toggles", "Monolith.Tenancy"];

    public static int Run()
    {
        var contexts = Modules.Select(System.Reflection.Assembly.Load)
            .SelectMany(a => a.GetTypes())
            .Where(t => t.IsSubclassOf(typeof(DbContext)) && !t.IsAbstract && t.Namespace?.StartsWith("Monolith.", StringComparison.Ordinal) == true)
            .OrderBy(t => t.FullName, StringComparer.Ordinal)
            .ToList();
        var total = TimeSpan.Zero;
        foreach (var type in contexts)
        {
            var first = Build(type);
            var second = Build(type);
            total += first;
            Console.WriteLine($"  {type.Name,-24} first use {first.TotalMilliseconds,7:F1} ms, next context {second.TotalMilliseconds,6:F2} ms");
        }

        Console.WriteLine($"  all models on first use: {total.TotalMilliseconds:F0} ms (once per process)");
        return 0;
    }

    private static TimeSpan Build(Type contextType)
    {
        var watch = Stopwatch.StartNew();
        var options = (DbContextOptionsBuilder)Activator.CreateInstance(typeof(DbContextOptionsBuilder<>).MakeGenericType(contextType))!;
        options.UseNpgsql("Host=model-only");
        using var context = (DbContext)Activator.CreateInstance(contextType, options.Options)!;
        _ = context.Model.GetEntityTypes().Count();
        return watch.Elapsed;
    }
}
