/** How unlearning moved the forgotten class's routing: {@link dev.lethe.eval.routing.RoutingShift}. */
package dev.lethe.eval.routing;
