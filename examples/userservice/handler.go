package main

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prompt-improver/unifieddb"
	"github.com/prompt-improver/unifieddb/datalayer"
	"github.com/prompt-improver/unifieddb/models"
	"github.com/prompt-improver/unifieddb/promptimprover"
	"github.com/prompt-improver/unifieddb/repos"
)

const (
	defaultLimit = 50
	maxLimit     = 500
)

// user is the JSON form of models.User.
type user struct {
	ID        uint      `json:"id"`
	Name      string    `json:"name"`
	Email     string    `json:"email"`
	Active    bool      `json:"active"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

func toJSON(u *models.User) user {
	return user{ID: u.ID, Name: u.Name, Email: u.Email, Active: u.Active, CreatedAt: u.CreatedAt, UpdatedAt: u.UpdatedAt}
}

// newUser is the body of POST /users. Active defaults to true.
type newUser struct {
	Name   string `json:"name"`
	Email  string `json:"email"`
	Active *bool  `json:"active"`
}

// userPage is the body of GET /users: NextAfter is the `after` of the next
// page, null on the last one.
type userPage struct {
	Users     []user `json:"users"`
	NextAfter *uint  `json:"next_after"`
}

type handler struct {
	users *promptimprover.UserRepository
	log   *slog.Logger
}

// NewHandler serves the user API from the injected repositories:
//
//	POST /users               create: {"name", "email", "active"?} -> 201 user
//	GET  /users/{id}          one user -> 200, 404
//	GET  /users?after=&limit= a page by id (keyset) -> {"users", "next_after"}
//	GET  /readyz              the Manager's health report: 200 healthy or degraded, 503 unhealthy
func NewHandler(r *unifieddb.Repositories, log *slog.Logger) http.Handler {
	if log == nil {
		log = slog.Default()
	}
	h := &handler{users: r.Users, log: log}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /users", h.create)
	mux.HandleFunc("GET /users/{id}", h.get)
	mux.HandleFunc("GET /users", h.list)
	mux.Handle("GET /readyz", datalayer.ReadinessHandler(r.Manager))
	return mux
}

func (h *handler) create(w http.ResponseWriter, r *http.Request) {
	var in newUser
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		h.fail(w, http.StatusBadRequest, "invalid JSON body: "+err.Error())
		return
	}
	in.Name, in.Email = strings.TrimSpace(in.Name), strings.TrimSpace(in.Email)
	if in.Name == "" || !strings.Contains(in.Email, "@") {
		h.fail(w, http.StatusBadRequest, "name and a valid email are required")
		return
	}
	u := models.User{Name: in.Name, Email: in.Email, Active: in.Active == nil || *in.Active}
	if err := h.users.Create(r.Context(), &u); err != nil {
		h.repoError(w, r, err)
		return
	}
	w.Header().Set("Location", "/users/"+strconv.FormatUint(uint64(u.ID), 10))
	h.reply(w, http.StatusCreated, toJSON(&u))
}

func (h *handler) get(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseUint(r.PathValue("id"), 10, 0)
	if err != nil {
		h.fail(w, http.StatusBadRequest, "id must be a positive integer")
		return
	}
	u, err := h.users.Get(r.Context(), uint(id))
	if err != nil {
		h.repoError(w, r, err)
		return
	}
	h.reply(w, http.StatusOK, toJSON(u))
}

func (h *handler) list(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	page := repos.Page{Limit: defaultLimit}
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > maxLimit {
			h.fail(w, http.StatusBadRequest, "limit must be 1 to "+strconv.Itoa(maxLimit))
			return
		}
		page.Limit = n
	}
	if s := q.Get("after"); s != "" {
		after, err := strconv.ParseUint(s, 10, 0)
		if err != nil {
			h.fail(w, http.StatusBadRequest, "after must be a user id")
			return
		}
		page.AfterID = uint(after)
	}
	users, err := h.users.List(r.Context(), repos.ListOptions{Page: page})
	if err != nil {
		h.repoError(w, r, err)
		return
	}
	out := userPage{Users: make([]user, len(users))}
	for i := range users {
		out.Users[i] = toJSON(&users[i])
	}
	if len(users) == page.Limit {
		next := users[len(users)-1].ID
		out.NextAfter = &next
	}
	h.reply(w, http.StatusOK, out)
}

// repoError maps a repository error to a status. Only the status's own text
// reaches the client; the error is logged.
func (h *handler) repoError(w http.ResponseWriter, r *http.Request, err error) {
	status := http.StatusInternalServerError
	switch {
	case errors.Is(err, repos.ErrNotFound):
		status = http.StatusNotFound
	case errors.Is(err, repos.ErrDuplicate):
		status = http.StatusConflict
	case errors.Is(err, repos.ErrConstraint):
		status = http.StatusUnprocessableEntity
	case errors.Is(err, repos.ErrInvalidArgument):
		status = http.StatusBadRequest
	case errors.Is(err, datalayer.ErrPoolTimeout), errors.Is(err, datalayer.ErrNoPrimary),
		errors.Is(err, datalayer.ErrNoHealthyNode), errors.Is(err, datalayer.ErrClosed):
		status = http.StatusServiceUnavailable
	case errors.Is(err, context.DeadlineExceeded):
		status = http.StatusGatewayTimeout
	}
	if status >= 500 {
		h.log.Error("userservice: request failed", "method", r.Method, "path", r.URL.Path, "error", err)
	}
	h.fail(w, status, strings.ToLower(http.StatusText(status)))
}

func (h *handler) fail(w http.ResponseWriter, status int, msg string) {
	h.reply(w, status, map[string]string{"error": msg})
}

func (h *handler) reply(w http.ResponseWriter, status int, body any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	if err := json.NewEncoder(w).Encode(body); err != nil {
		h.log.Debug("userservice: writing the response", "error", err)
	}
}
