package tests

import (
	"errors"
	"testing"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// gxOwner has many pets at a field index that a pet does not have: GORM
// registers the back-reference "_gxOwner_Pets" in the pet's relations, with
// the owner's field.
type gxOwner struct {
	ID     uint
	Name   string
	Email  string
	Age    int
	Active bool
	Note   string
	Pets   []gxPet `gorm:"foreignKey:OwnerID"`
}

type gxPet struct {
	ID      uint
	OwnerID uint
	Toys    []gxToy `gorm:"foreignKey:PetID"`
}

type gxToy struct {
	ID    uint
	PetID uint
	Name  string
}

func ownersAndPets(db *gorm.DB) (any, error) {
	var owners []gxOwner
	err := db.Order("id").Preload("Pets", func(db *gorm.DB) *gorm.DB { return db.Order("id") }).
		Preload("Pets.Toys", func(db *gorm.DB) *gorm.DB { return db.Order("id") }).Find(&owners).Error
	return owners, err
}

func migrateOwners(db *gorm.DB) error {
	if err := db.AutoMigrate(&gxOwner{}, &gxPet{}, &gxToy{}); err != nil {
		return err
	}
	return db.Create(&gxOwner{Name: "ann", Pets: []gxPet{{Toys: []gxToy{{Name: "ball"}}}}}).Error
}

// Item 1: nested association writes never panic and do what GORM does.
func TestGormExactNestedAssociationWrites(t *testing.T) {
	cases := map[string]func(db *gorm.DB) error{
		"create nested": func(db *gorm.DB) error {
			return db.Create(&gxOwner{Name: "bob", Pets: []gxPet{{Toys: []gxToy{{Name: "a"}, {Name: "b"}}}, {}}}).Error
		},
		"create a pet alone": func(db *gorm.DB) error { return db.Create(&gxPet{OwnerID: 1}).Error },
		"create pets with toys": func(db *gorm.DB) error {
			return db.Create(&[]gxPet{{OwnerID: 1, Toys: []gxToy{{Name: "c"}}}, {OwnerID: 1}}).Error
		},
		"save a pet with a new toy": func(db *gorm.DB) error {
			return db.Save(&gxPet{ID: 1, OwnerID: 1, Toys: []gxToy{{Name: "new"}}}).Error
		},
		"first or create a pet": func(db *gorm.DB) error {
			var p gxPet
			return db.Where(gxPet{OwnerID: 1}).FirstOrCreate(&p).Error
		},
		"updates a pet": func(db *gorm.DB) error {
			return db.Model(&gxPet{ID: 1}).Updates(map[string]any{"owner_id": 1}).Error
		},
		"association append": func(db *gorm.DB) error {
			return db.Model(&gxOwner{ID: 1}).Association("Pets").Append(&gxPet{Toys: []gxToy{{Name: "d"}}})
		},
		"association replace": func(db *gorm.DB) error {
			return db.Model(&gxPet{ID: 1}).Association("Toys").Replace(&gxToy{Name: "e"})
		},
		"delete a toy": func(db *gorm.DB) error { return db.Delete(&gxToy{ID: 1}).Error },
		"delete a pet with its toys": func(db *gorm.DB) error {
			return db.Select("Toys").Delete(&gxPet{ID: 1}).Error
		},
		"delete with clause.Associations": func(db *gorm.DB) error {
			return db.Select(clause.Associations).Delete(&gxOwner{ID: 1}).Error
		},
		"joins": func(db *gorm.DB) error {
			var pets []gxPet
			return db.Joins("JOIN gx_owners ON gx_owners.id = gx_pets.owner_id").Find(&pets).Error
		},
	}
	for name, op := range cases {
		t.Run(name, func(t *testing.T) {
			sameAsGORM(t, gormCase{setup: migrateOwners, op: op, rows: ownersAndPets})
		})
	}
}

type gxParent struct {
	ID       uint
	Name     string
	Children []gxChild `gorm:"foreignKey:ParentID"`
}

type gxChild struct {
	ID       uint
	ParentID uint
	Name     string
}

// gxRef keeps its parent from being deleted (a foreign key).
type gxRef struct {
	ID       uint
	ParentID uint
	Parent   gxParent
}

// Item 2: an operation GORM makes atomic stays atomic.
func TestGormExactDeleteWithSelectedAssociationIsAtomic(t *testing.T) {
	setup := func(db *gorm.DB) error {
		if err := db.AutoMigrate(&gxParent{}, &gxChild{}, &gxRef{}); err != nil {
			return err
		}
		p := gxParent{Name: "p", Children: []gxChild{{Name: "a"}, {Name: "b"}}}
		if err := db.Create(&p).Error; err != nil {
			return err
		}
		return db.Create(&gxRef{ParentID: p.ID}).Error
	}
	counts := func(db *gorm.DB) (any, error) {
		var parents, children []string
		err := errors.Join(db.Model(&gxParent{}).Order("id").Pluck("name", &parents).Error,
			db.Model(&gxChild{}).Order("id").Pluck("name", &children).Error)
		return [2][]string{parents, children}, err
	}
	for name, op := range map[string]func(db *gorm.DB) error{
		"select children": func(db *gorm.DB) error { return db.Select("Children").Delete(&gxParent{ID: 1}).Error },
		"select associations": func(db *gorm.DB) error {
			return db.Select(clause.Associations).Delete(&gxParent{ID: 1}).Error
		},
		"save whose child fails": func(db *gorm.DB) error {
			// The parent's UPDATE runs, then the child's INSERT fails (name
			// too long for the check below): GORM rolls the UPDATE back.
			if err := db.Exec("ALTER TABLE gx_children ADD CONSTRAINT short_name CHECK (length(name) < 5)").Error; err != nil {
				return err
			}
			return db.Save(&gxParent{ID: 1, Name: "q", Children: []gxChild{{Name: "much too long"}}}).Error
		},
	} {
		t.Run(name, func(t *testing.T) {
			sameAsGORM(t, gormCase{setup: setup, op: op, rows: counts})
		})
	}
}
