package check

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic/dynamicinformer"
	"k8s.io/client-go/tools/cache"

	"github.com/keiko-lab/keiko"
)

// Live evaluation timing. A change is evaluated as soon as it is seen;
// further changes within Debounce (a Deployment's ReplicaSet and Pods
// appearing after it) are coalesced into one more evaluation at its end,
// so a burst costs two evaluations, and a step turns green well within the
// 300 ms a learner should wait.
const (
	Debounce = 50 * time.Millisecond
	// Poll is how often checks no watch can see run again: scripts, and
	// resources the cluster does not serve (yet).
	Poll = 2 * time.Second
)

// Watch evaluates checks at once, then again whenever the namespace
// changes in a way they can see, and calls report each time the results
// differ from the last reported. It returns when ctx ends.
func (e *Engine) Watch(ctx context.Context, t Target, checks []keiko.Check, report func([]keiko.CheckResult)) {
	factory := dynamicinformer.NewFilteredDynamicSharedInformerFactory(e.dyn, 0, t.Namespace, nil)
	defer factory.Shutdown()
	changed := make(chan struct{}, 1)
	poke := func() {
		select {
		case changed <- struct{}{}:
		default:
		}
	}
	handler := cache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { poke() },
		UpdateFunc: func(any, any) { poke() },
		DeleteFunc: func(any) { poke() },
	}
	src := cacheSource{api: apiSource{e.dyn, t.Namespace}, ns: t.Namespace, informers: map[schema.GroupVersionResource]cache.SharedIndexInformer{}}
	polled := false
	for _, c := range checks {
		if c.Script != "" {
			polled = true
			continue
		}
		gvr, err := ParseResource(c.Resource)
		if err != nil {
			continue // evaluation reports it
		}
		if _, ok := src.informers[gvr]; ok {
			continue
		}
		// A type the cluster does not serve would leave its informer
		// unsynced forever; such checks are polled instead.
		if _, err := e.dyn.Resource(gvr).Namespace(t.Namespace).List(ctx, metav1.ListOptions{Limit: 1}); err != nil {
			polled = true
			continue
		}
		inf := factory.ForResource(gvr).Informer()
		if _, err := inf.AddEventHandler(handler); err != nil {
			polled = true
			continue
		}
		src.informers[gvr] = inf
	}
	factory.Start(ctx.Done())
	for gvr, inf := range src.informers {
		if !cache.WaitForCacheSync(ctx.Done(), inf.HasSynced) {
			delete(src.informers, gvr)
		}
	}

	var last []keiko.CheckResult
	run := func() {
		r := e.evaluate(ctx, t, checks, src)
		if ctx.Err() == nil && !slices.Equal(r, last) {
			last = r
			report(r)
		}
	}
	run()
	var tick <-chan time.Time
	if polled {
		ticker := time.NewTicker(Poll)
		defer ticker.Stop()
		tick = ticker.C
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-changed:
			run()
			select {
			case <-time.After(Debounce):
			case <-ctx.Done():
				return
			}
			select {
			case <-changed:
				run()
			default:
			}
		case <-tick:
			run()
		}
	}
}

// cacheSource reads watched types from their informers' caches, and any
// other from the API.
type cacheSource struct {
	api       apiSource
	ns        string
	informers map[schema.GroupVersionResource]cache.SharedIndexInformer
}

func (s cacheSource) get(ctx context.Context, gvr schema.GroupVersionResource, name string) (map[string]any, error) {
	inf, ok := s.informers[gvr]
	if !ok {
		return s.api.get(ctx, gvr, name)
	}
	o, exists, err := inf.GetIndexer().GetByKey(s.ns + "/" + name)
	if err != nil || !exists {
		return nil, err
	}
	return unstructuredObject(o)
}

func (s cacheSource) list(ctx context.Context, gvr schema.GroupVersionResource, selector string) ([]any, error) {
	inf, ok := s.informers[gvr]
	if !ok {
		return s.api.list(ctx, gvr, selector)
	}
	sel, err := labels.Parse(selector)
	if err != nil {
		return nil, err
	}
	var items []*unstructured.Unstructured
	for _, o := range inf.GetIndexer().List() {
		u, ok := o.(*unstructured.Unstructured)
		if ok && sel.Matches(labels.Set(u.GetLabels())) {
			items = append(items, u)
		}
	}
	// In name order, as the API lists them.
	slices.SortFunc(items, func(a, b *unstructured.Unstructured) int { return strings.Compare(a.GetName(), b.GetName()) })
	out := make([]any, len(items))
	for i, u := range items {
		out[i] = u.Object
	}
	return out, nil
}

func unstructuredObject(o any) (map[string]any, error) {
	u, ok := o.(*unstructured.Unstructured)
	if !ok {
		return nil, fmt.Errorf("unexpected cached object %T", o)
	}
	return u.Object, nil
}
